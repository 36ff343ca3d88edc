"""migwatch: the command line, the scheduler daemon and the job runs that tie the stages."""

__version__ = "0.1.0"
