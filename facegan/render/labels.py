"""CelebA attribute labels for the factors the renderer models (official
names, official order)."""

from __future__ import annotations

from facegan.render import hair
from facegan.render.geometry import age_weight
from facegan.render.identity import HAIR_COLOURS, NO_BEARD, Identity
from facegan.render.image_state import ImageState, styled

ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose",
    "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses", "Goatee", "Gray_Hair",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Pale_Skin", "Receding_Hairline",
    "Rosy_Cheeks", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Lipstick", "Young",
)


def attributes(ident: Identity, st: ImageState) -> dict[str, bool]:
    ident = styled(ident, st)  # hair labels follow the photo's look
    has_hair = ident.hair_style not in ("bald", "buzz")
    grey = hair.greyness(ident, st.age) > 0.5
    colour = HAIR_COLOURS[ident.hair_colour][1]
    thin = 1 - 0.45 * age_weight(st.age)
    return {
        "5_o_Clock_Shadow": ident.facial_hair == "stubble",
        "Arched_Eyebrows": ident.brow_arch > 2.8,
        "Bags_Under_Eyes": age_weight(st.age) > 0.45,
        "Bald": ident.hair_style == "bald",
        "Bangs": ident.hair_style == "bangs",
        "Big_Lips": (ident.lip_up + ident.lip_lo) * thin > 6.3,
        "Big_Nose": ident.nose_w > 9.3 or ident.nose_prot > 15.0,
        "Black_Hair": colour == "Black_Hair" and not grey and ident.hair_style != "bald",
        "Blond_Hair": colour == "Blond_Hair" and not grey and ident.hair_style != "bald",
        "Blurry": st.blur > 1.0,
        "Brown_Hair": colour == "Brown_Hair" and not grey and ident.hair_style != "bald",
        "Bushy_Eyebrows": ident.brow_thick > 3.0,
        "Eyeglasses": st.eyeglasses,
        "Goatee": ident.facial_hair in ("goatee", "vandyke"),
        "Gray_Hair": grey and ident.hair_style != "bald",
        "Male": ident.male,
        "Mouth_Slightly_Open": st.mouth_open > 0.8,
        "Mustache": ident.facial_hair in ("moustache", "vandyke"),
        "Narrow_Eyes": ident.eye_h * (1 - 0.35 * st.smile) < 3.4,
        "No_Beard": ident.facial_hair in NO_BEARD,
        "Pale_Skin": float(ident.skin.mean()) > 0.8,
        "Receding_Hairline": hair.recession(ident, st.age) > 0.5,
        "Rosy_Cheeks": ident.rosy > 0.08,
        "Smiling": st.smiling,
        "Straight_Hair": has_hair and ident.wavy < 0.15,
        "Wavy_Hair": has_hair and ident.wavy > 0.5,
        "Wearing_Lipstick": st.lipstick,
        "Young": st.age < 0.5,
    }
