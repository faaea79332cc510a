#!/usr/bin/env bash
# Set up ./.venv and publish one day locally into ./site: the post, the digest and the feeds.
#
# With HF_API_BASE unset, a local server replays the recorded API response for 2026-07-31,
# so this works offline. With HF_API_BASE=https://huggingface.co it asks the live API for
# the last complete day (or pass --date YYYY-MM-DD). Extra arguments go to `papers-digest run`.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .

args=("$@")
if [ -z "${HF_API_BASE:-}" ]; then
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  .venv/bin/python -m tools.replay_server --port "$port" tests/fixtures/hf-api >/dev/null &
  server=$!
  trap 'kill $server 2>/dev/null' EXIT
  for _ in $(seq 50); do
    .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/api/daily_papers?date=2026-07-31')" 2>/dev/null && break
    sleep 0.1
  done
  export HF_API_BASE="http://127.0.0.1:$port"
  echo "replaying recorded responses at $HF_API_BASE"
  [ ${#args[@]} -gt 0 ] || args=(--date 2026-07-31)
fi

.venv/bin/papers-digest run --out site "${args[@]}"
.venv/bin/papers-digest feed --out site
echo "done: see site/_posts/, site/digests/, the feeds (site/feed.xml, atom.xml, feed.json) and site/index.html"
