"""Staff tools on the web: the preview of every channel and the report of what people ask.

Off unless STAFF_TOKEN is set (the routes do not exist), and then behind that token.
"""
