__version__ = "0.1.0"
import kglfr.core  # its warning filters are in place before any kglfr module imports fastai

def __getattr__(name: str):
    "`kglfr.FeatureExtractor`, imported on first use so that `import kglfr` stays light."
    if name == 'FeatureExtractor':
        from kglfr.inference import FeatureExtractor
        return FeatureExtractor
    raise AttributeError(f"module 'kglfr' has no attribute {name!r}")
