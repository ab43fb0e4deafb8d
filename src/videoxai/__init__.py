"""videoxai: are a video classifier's confidences honest, and what does it look at?"""

__version__ = "0.1.0"
