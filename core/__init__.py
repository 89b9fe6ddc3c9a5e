"""The kernel: settings, database and units of work, errors, dates, health state. Imports
nothing of ours."""
