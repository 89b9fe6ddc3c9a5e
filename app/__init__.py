"""The composition root: wires settings, database, blob store and search index into a
runtime, and builds the product app, the command line and `serve` from the packages below."""
