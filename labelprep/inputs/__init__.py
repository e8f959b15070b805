"""What an input is and what it means.

Reading: ``textscan`` checks and normalises the bytes of text files (line endings, BOM,
blank lines, UTF-8, quoting) and ``readers`` hands them to Polars; ``ingest`` resolves
paths and globs, opens every file once and projects it onto the canonical columns with
its provenance; ``idtypes`` gives the ids one type per run. Meaning: ``roles`` decides
which columns are which evidence and which files are votes, ``vocab`` fixes the class
vocabulary, ``class_metadata`` reads class names stored in Parquet files.
"""
