"""The one corpus of hostile values: paper text, paper ids and URLs, as an attacker or a
broken API would send them. Import it; do not keep another list."""

from __future__ import annotations

from papers_digest.checks import MAX_URL_LENGTH

# Text a paper may carry (title, abstract, authors, organization): kept, cleaned, inert.
TEXT = {
    "YAML metacharacters": "Key: value # not a comment [a, b] {c: d} &anchor *alias !tag | > @at",
    "YAML indicators first": "- @at !tag #hash %pct `tick` line\u2028separator",
    "quotes and backslashes": '"double" \'single\' back\\slash \\" \\n',
    "Liquid tags": "{{ site.title }} {% include evil.html %} {{ 'x' | upcase }} {% raw %}",
    "HTML and script tags": "<script>alert(1)</script><img src=x onerror=alert(2)><b>b</b>",
    "Markdown links and attributes": "[a](javascript:alert(1)) ![i](https://x.test/i.png) "
    '*e*{: onclick="alert(3)"}',
    "CDATA end": "]]> <![CDATA[ <x> ]]>",
    "NUL and control characters": "nul\x00 bell\x07 esc\x1b del\x7f c1\x85 tab\t end",
    "lone surrogates": "lone \ud800 high and \udfff low",
    "very long strings": "Long title " * 5000,
    "emoji": "Emoji 🤗🧪 👩‍🔬 family 👨‍👩‍👧 flags 🇰🇷",
    "right-to-left text": "RTL \u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0639\u0631\u0628\u064a\u0629 "
    "\u202eoverride\u202c",
}

# Paper ids that are not arXiv's new-style YYMM.NNNNN: the item is skipped.
IDS = {
    "Markdown and HTML injection": "2607.99999) <img src=x onerror=alert(1)> "
    "[x](javascript:alert(1)",
    "line breaks and a script block": "2607.99999\n\n<script>alert(1)</script>\n",
    "trailing line break": "2607.99999\n",
    "path traversal": "../../../etc/passwd",
    "traversal after an id": "2607.99999/../../admin",
    "spaces": "2607. 99999",
    "padded with spaces": " 2607.99999 ",
    "a URL": "https://evil.example/2607.99999",
    "query string": "2607.99999?x=<b>",
    "fullwidth digits": "\uff12\uff16\uff10\uff17.99999",
    "lone surrogate": "2607.9999\ud800",
    "a version suffix": "2607.99999v2",
    "old-style id": "hep-th/9901001",
    "four digits after 2015": "2607.9999",
    "five digits before 2015": "1412.99999",
    "month 13": "2613.99999",
    "empty": "",
}

# Values for a URL field (githubRepo, projectPage, thumbnail): the value is dropped.
URLS = {
    "javascript:": "javascript:alert(1)",
    "JavaScript: in mixed case": "JavaScript:alert(document.cookie)",
    "data:": "data:text/html,<script>alert(1)</script>",
    "vbscript:": "vbscript:msgbox(1)",
    "protocol-relative": "//evil.example/x",
    "relative path": "/relative/evil",
    "no host": "http://",
    "no host but a path": "https:///etc/passwd",
    "ftp": "ftp://evil.example/x",
    "attribute breakout": 'https://x.example/" onmouseover="alert(1)',
    "single quote breakout": "https://x.example/' onmouseover='alert(1)",
    "tag breakout": "https://x.example/><script>alert(1)</script>",
    "Markdown link breakout": "https://x.example/)[y](javascript:alert(1)",
    "space": "https://x.example/a b",
    "line break": "https://x.example/\nmalicious: yes",
    "control character": "https://x.example/\x00\x07",
    "lone surrogate": "https://x.example/\ud800",
    "right-to-left override": "https://x.example/\u202egpj.exe",
    "backslash host": "https://evil.example\\@good.example/",
    "credentials": "https://user:pass@evil.example/",
    "bad port": "https://x.example:99999/",
    "too long": "https://x.example/" + "a" * MAX_URL_LENGTH,
}
