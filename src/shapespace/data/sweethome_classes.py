"""Which Sweet Home 3D furniture is which of the six IKEA classes: the reviewed table.

:func:`classify` gives an item of a furniture library (:mod:`shapespace.io.sweethome`) one
of ``bed``, ``bookcase``, ``chair``, ``desk``, ``sofa``, ``table`` -- or none, and then the
item is left out of the data and listed by ``shapespace data info`` with the reason.

The decision is made on the item's English name (``name#N``, lower-cased): the first rule
of :data:`NAME_RULES` whose pattern is found in it wins, and a name no rule matches is left
out. A few models whose name says too little are decided one by one in
:data:`ITEM_OVERRIDES`, by their catalogue ``id``. Both tables were reviewed against every
item of Debian's ``sweethome3d-furniture`` 1.8 and ``sweethome3d`` 7.0.2 (920 items) and
against pictures of the voxelised models (``shapespace data show``).

What the classes mean here, after the IKEA set's own objects (Lim et al., ICCV 2013):

* **chair**: one seat with a backrest on legs or a base -- dining, kitchen, office and
  garden chairs and armchairs; not stools, benches, loungers, floor chairs nor high chairs;
* **sofa**: a seat for two or more with a backrest, corner sofas included;
* **bed**: a bed frame with a mattress at sitting height, single or double; not cribs,
  bunk, loft or mezzanine beds (a second level or an open space below), nor mattresses
  alone (air mattress, futon, sleeping bag);
* **table**: dining, coffee, side, bar, garden and office tables; not a piece named
  after a table that is something else (bedside and dressing tables are cabinets, pool,
  football and tennis tables are games);
* **desk**: desks and writing tables; not drafting tables, workbenches nor dressing tables;
* **bookcase**: bookcases and open shelving units standing on the floor; not cabinets
  with doors nor wall shelves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IKEA_CLASSES = ("bed", "bookcase", "chair", "desk", "sofa", "table")
NO_CLASS_REASON = "its name is none of the six classes"


@dataclass(frozen=True)
class NameRule:
    """``pattern`` (a regular expression searched in the lower-case English name) gives
    ``category`` (one of :data:`IKEA_CLASSES`, or None: left out) because ``reason``."""

    pattern: str
    category: str | None
    reason: str


# In order: the first match wins, so the exceptions come before the words they contain.
NAME_RULES = (
    # Named after a class, but something else.
    NameRule(r"\bdesk lamp\b", None, "a lamp"),
    NameRule(r"\bbedside table\b", None, "a bedside cabinet, not a table"),
    NameRule(r"\bdressing table\b", None, "a dressing table with a mirror, neither table nor desk"),
    NameRule(r"\bchanging table\b", None, "a baby changing unit, not a table"),
    NameRule(r"\btechnical table\b", None, "a drafting table with a tilted top, neither table nor desk"),
    NameRule(r"\b(pool|football|tennis) table\b|\btable (tennis|fan)\b", None, "a game or a fan, not furniture of a class"),
    NameRule(r"\btablecloth\b", None, "a tablecloth down to the floor hides the table's legs"),
    NameRule(r"\bcabinet\b", None, "a cabinet with doors, not a bookcase"),
    NameRule(r"\bopened convertible sofa\b", None, "a sofa opened into a bed: neither sofa nor bed"),
    NameRule(r"\b(bunk|loft|mezzanine) bed\b", None, "a bed with a second level or an open space below, unlike the IKEA beds"),
    NameRule(r"\b(crib|baby bed)\b", None, "a crib with barred sides, unlike the IKEA beds"),
    NameRule(r"\b(air mattress|sleeping bag|futon)$", None, "a mattress on the floor, no bed frame"),
    NameRule(r"\b(armchair ottoman|baby high chair|class seat|wheelchair)\b", None, "a seat of another kind than the IKEA chairs"),
    NameRule(r"\b(deck|beach|relax|ryokan) chair\b|\blounge\b", None, "a lounger or a floor chair, not a chair on legs"),
    # The six classes.
    NameRule(r"\b(sofa|couch|settee)\b", "sofa", "a sofa"),
    NameRule(r"\b(arm)?chairs?\b", "chair", "a chair or an armchair"),
    NameRule(r"\bbeds?\b", "bed", "a bed"),
    NameRule(r"\bdesk\b", "desk", "a desk"),
    NameRule(r"\btables?\b", "table", "a table"),
    NameRule(r"\b(bookcase|bookshelf|shelves|shelving)\b", "bookcase", "a bookcase or shelving unit"),
)

# Catalogue id -> (class or None, reason): models the name rules get wrong, found on the
# pictures of every mapped model of the Debian packages.
ITEM_OVERRIDES: dict[str, tuple[str | None, str]] = {
    "Blend Swap CC-0#foldingChair": (None, "a folding stool without a backrest"),
    "Blend Swap CC-0#bookcase": (None, "glass doors close it: a closed box in voxels, unlike an open bookcase"),
    "Scopia#ext_chair": (None, "a garden lounger with cushions, not a chair on legs"),
    "Scopia#dining_room": (None, "a wall unit with a TV niche, not a bookcase"),
    "Scopia#office_furniture1": (None, "a wall of closed cabinets, not a bookcase"),
}


def classify(name: str, item_id: str = "") -> tuple[str | None, str]:
    """The IKEA class of a Sweet Home 3D item and why.

    Args:
        name: the item's English name (``name#N``).
        item_id: its catalogue ``id`` (``id#N``), looked up in :data:`ITEM_OVERRIDES` first.

    Returns:
        ``(class, reason)``: one of :data:`IKEA_CLASSES`, or None when the item is left out.
    """
    if item_id in ITEM_OVERRIDES:
        return ITEM_OVERRIDES[item_id]
    text = name.lower()
    for rule in NAME_RULES:
        if re.search(rule.pattern, text):
            return rule.category, rule.reason
    return None, NO_CLASS_REASON
