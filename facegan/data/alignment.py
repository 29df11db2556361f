"""The CelebA aligned frame: its 5-point template, face crop, yaw from landmarks,
and MTCNN alignment of arbitrary photos onto it."""

from __future__ import annotations

import cv2
import numpy as np

CELEBA_SIZE = (178, 218)  # (width, height) of img_align_celeba
# CelebA's mean aligned landmarks (eyes, nose tip, mouth corners) in that frame.
CELEBA_TEMPLATE = np.array(
    [[69.6, 111.7], [106.8, 111.3], [88.1, 134.6], [71.7, 151.4], [104.9, 151.0]], dtype=np.float32
)
# Square crop centred between eyes and mouth, wide enough to keep hair, brows
# and ears (identity cues; thermal needs forehead and ears) yet mostly face.
FACE_CROP_BOX = (9, 45, 169, 205)  # (left, top, right, bottom) in the CelebA frame
# Nose-tip depth in front of the eye line, as a fraction of the inter-ocular
# distance (anthropometric average): turns the nose's sideways shift into yaw.
NOSE_DEPTH_PER_IOD = 0.55


def to_crop_frame(points: np.ndarray, image_size: int) -> np.ndarray:
    """Map (..., 2k) CelebA-frame x,y coordinates into the prepared square crop."""
    left, top, right, _ = FACE_CROP_BOX
    scale = image_size / (right - left)
    out = np.asarray(points, dtype=np.float32).copy()
    out[..., 0::2] = (out[..., 0::2] - left) * scale
    out[..., 1::2] = (out[..., 1::2] - top) * scale
    return out


def yaw_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Yaw in degrees from (n, 10) landmarks; positive when the nose points to image right."""
    lm = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    eye_mid_x = (lm[:, 0, 0] + lm[:, 1, 0]) / 2
    iod = np.maximum(np.linalg.norm(lm[:, 1] - lm[:, 0], axis=1), 1e-6)
    ratio = (lm[:, 2, 0] - eye_mid_x) / iod
    return np.degrees(np.arctan(ratio / NOSE_DEPTH_PER_IOD)).astype(np.float32)


def similarity_to_template(points: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (rotation, uniform scale, shift) taking 5 points to the
    template: Umeyama's closed form, as insightface/skimage align faces."""
    src = np.asarray(points, dtype=np.float64).reshape(5, 2)
    dst = CELEBA_TEMPLATE.astype(np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])  # no reflections
    rotation = u @ d @ vt
    variance = (src_c**2).sum() / len(src)
    if variance < 1e-9:
        raise ValueError("degenerate landmarks")
    scale = np.trace(np.diag(sigma) @ d) / variance
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]]).astype(np.float32)


def warp_to_celeba(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Align an RGB photo to the CelebA frame; returns the 178x218 image and its 5 points.
    Areas the photo does not cover stay black, as in CelebA-style alignment."""
    matrix = similarity_to_template(points)
    aligned = cv2.warpAffine(image, matrix, CELEBA_SIZE, flags=cv2.INTER_AREA, borderValue=0)
    pts = np.asarray(points, dtype=np.float32).reshape(5, 2)
    moved = pts @ matrix[:, :2].T + matrix[:, 2]
    return aligned, moved.reshape(10)


class MTCNNAligner:
    """facenet-pytorch's MTCNN (weights ship inside the package) + template alignment."""

    def __init__(self, min_prob: float = 0.9, device: str | None = None):
        import torch
        from facenet_pytorch import MTCNN

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.min_prob = min_prob
        self.mtcnn = MTCNN(keep_all=True, device=device)

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """Five points of the largest confident face, or None when no face is found."""
        from PIL import Image

        boxes, probs, points = self.mtcnn.detect(Image.fromarray(image), landmarks=True)
        if boxes is None:
            return None
        confident = np.flatnonzero(np.asarray(probs, dtype=np.float64) >= self.min_prob)
        if confident.size == 0:
            return None
        # The subject of a photo is usually its largest face.
        area = (boxes[confident, 2] - boxes[confident, 0]) * (boxes[confident, 3] - boxes[confident, 1])
        return np.asarray(points[confident[int(np.argmax(area))]], dtype=np.float32)

    def align(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        points = self.landmarks(image)
        if points is None:
            return None
        return warp_to_celeba(image, points)


# ---- from a photo to the prepared crop and back (facegan edit pastes its edit into the photo)


def box_to_square(box: tuple[float, float, float, float], image_size: int) -> np.ndarray:
    """2x3 affine from a photo's pixel coordinates to the S x S crop that resizes `box` (left,
    top, right, bottom, in continuous coordinates) as PIL does: pixel centres sit at +0.5 in
    PIL's box and at integers in OpenCV's matrices, hence the half-pixel terms."""
    left, top, right, bottom = box
    kx, ky = image_size / (right - left), image_size / (bottom - top)
    return np.array([[kx, 0.0, kx * (0.5 - left) - 0.5], [0.0, ky, ky * (0.5 - top) - 0.5]], np.float64)


def then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The 2x3 affine that applies `first`, then `second`."""
    return (np.vstack([second, [0, 0, 1]]) @ np.vstack([first, [0, 0, 1]]))[:2]


def paste_face(photo: np.ndarray, face: np.ndarray, to_crop: np.ndarray, feather: float = 0.06) -> np.ndarray:
    """`photo` (H x W x 3 uint8) with the S x S `face` warped back where `to_crop` took it from.

    The seam is feathered over `feather` of the crop's side: the crop's border is where the
    editor saw least context, and a hard edge would show at the photo's resolution."""
    h, w = photo.shape[:2]
    side = face.shape[0]
    ramp = np.minimum(np.arange(side) + 0.5, side - 0.5 - np.arange(side)) / max(feather * side, 1.0)
    ramp = np.clip(ramp, 0.0, 1.0).astype(np.float32)
    mask = np.minimum(ramp[:, None], ramp[None, :])
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP  # to_crop maps the output (photo) into the crop
    back = cv2.warpAffine(face, to_crop, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, to_crop, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0)
    out = photo.astype(np.float32) * (1 - alpha[..., None]) + back.astype(np.float32) * alpha[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
