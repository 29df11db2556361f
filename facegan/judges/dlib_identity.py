"""dlib's pretrained face-recognition ResNet as the identity judge for real photos.

Optional (`pip install ".[judge]"`: dlib-bin + face-recognition-models, which ship the weights).
The model is the one `recognizer.source: dlib` embeds with (facegan/recognition/source.py); config
forbids using it as both the recognizer and the identity judge.
"""

from __future__ import annotations

from facegan.recognition.source import DlibEmbedder as DlibIdentity
from facegan.recognition.source import dlib_model_dir

__all__ = ["DlibIdentity", "dlib_model_dir"]
