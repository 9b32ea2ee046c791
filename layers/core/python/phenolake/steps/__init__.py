"""One module per pipeline step: the work each Lambda does, apart from Lambda itself."""
