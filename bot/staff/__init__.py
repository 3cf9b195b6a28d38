"""Tools for NGO staff: the preview of every channel and the report of what people ask (web
pages, off unless STAFF_TOKEN is set: the routes then do not exist), and translations in a
spreadsheet."""
