__version__ = "0.1.0"
import kglfr.core  # its warning filters are in place before any kglfr module imports fastai
