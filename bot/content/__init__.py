"""Staff-edited content: dialogs, knowledge articles, hotlines; loading and checking them."""
