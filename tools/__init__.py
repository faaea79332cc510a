"""Development tools the demo, the bench and the tests share."""
