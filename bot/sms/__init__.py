"""The pure parts of SMS: what a message costs, and how to write it so a basic phone shows it.

Nothing here does I/O or knows about Twilio; the SMS channel (bot/channels/sms/) and
`safar check` both build on it, so a text is counted the same way wherever it is counted.
"""
