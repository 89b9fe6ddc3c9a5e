"""E-mails (.eml) as one PDF document for the case file.

parse      whether a file is an e-mail; headers, body text, attachments (stdlib `email`)
html_text  an HTML body as readable text (inscriptis on lxml)
layout     text wrapped and paginated on A4
images     attached images encoded as page images (Pillow)
plan       what goes on which page, within the page and time budget (limits)
render     the PDF drawn from the plan (fpdf2 for text pages, pikepdf for the document)
convert    email_to_pdf: the whole conversion

Import from the module that holds a name: the package itself imports nothing, so a process that
only asks whether a file is an e-mail (the worker, the mailbox) does not load lxml, inscriptis,
fpdf2 and the rest of the converter (7.6 MiB of worker memory, bench/ocr_pipeline.py).
"""
