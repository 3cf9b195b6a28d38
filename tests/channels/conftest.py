"""The channel tests share the loopback Bot API and Twilio fixtures of tests/conftest.py."""
