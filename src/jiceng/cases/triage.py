"""Triage help: guess a new request's category and handler from its text, and spot likely
duplicates. Staff confirm every suggestion; nothing is dispatched on a guess.

Chinese has no spaces, so texts are compared as sets of character pairs (bigrams). The
category guess is naive Bayes over those pairs, learned from the county's closed requests
(and the categories' own names and keywords, so it works before there is any history).
The model is rebuilt at most every ten minutes per county and process.
"""

import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from jiceng.cases.models import Case, Category
from jiceng.core.region_codes import county_of

NOT_TEXT = re.compile(r"[\s\W_]+")
TRAINING_LIMIT = 20_000
REBUILD_SECONDS = 600
KEYWORD_WEIGHT = 3


def bigrams(text: str) -> list[str]:
    chars = NOT_TEXT.sub("", text.lower())
    if len(chars) == 1:
        return [chars]
    return [chars[i : i + 2] for i in range(len(chars) - 1)]


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' character pairs (0 to 1)."""
    first, second = set(bigrams(a)), set(bigrams(b))
    if not first or not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


@dataclass
class Model:
    pairs: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    documents: Counter = field(default_factory=Counter)
    vocabulary: set[str] = field(default_factory=set)

    def learn(self, category_id: int, text: str, weight: int = 1) -> None:
        grams = bigrams(text)
        self.documents[category_id] += weight
        for gram in grams:
            self.pairs[category_id][gram] += weight
        self.vocabulary.update(grams)

    def rank(self, text: str) -> list[tuple[int, float]]:
        """Categories by probability, best first."""
        grams = bigrams(text)
        total = sum(self.documents.values())
        if not grams or not total:
            return []
        size = len(self.vocabulary) + 1
        scores = {}
        for category_id, count in self.documents.items():
            counts = self.pairs[category_id]
            denominator = sum(counts.values()) + size
            score = math.log(count / total)
            score += sum(math.log((counts[g] + 1) / denominator) for g in grams)
            scores[category_id] = score
        best = max(scores.values())
        weights = {c: math.exp(s - best) for c, s in scores.items()}
        norm = sum(weights.values())
        return sorted(((c, w / norm) for c, w in weights.items()), key=lambda x: -x[1])


def build(county_code: str, exclude_ids=()) -> Model:
    model = Model()
    for category in Category.objects.filter(region_code=county_code, parent__isnull=False):
        model.learn(category.pk, f"{category.name} {category.keywords}", KEYWORD_WEIGHT)
    closed = (
        Case.objects.filter(
            region_code__within=county_code, status=Case.Status.CLOSED, category__isnull=False
        )
        .exclude(pk__in=exclude_ids)
        .order_by("-closed_at")
        .values_list("category_id", "description")
    )
    for category_id, description in closed[:TRAINING_LIMIT]:
        model.learn(category_id, description)
    return model


_models: dict[str, tuple[float, Model]] = {}


def model_for(county_code: str) -> Model:
    built = _models.get(county_code)
    if built is None or time.monotonic() - built[0] > REBUILD_SECONDS:
        built = (time.monotonic(), build(county_code))
        _models[county_code] = built
    return built[1]


@dataclass(frozen=True)
class Suggestion:
    category: Category
    probability: float


def suggest_categories(case: Case, limit: int = 3) -> list[Suggestion]:
    ranked = model_for(county_of(case.region_code)).rank(case.description)[:limit]
    categories = Category.objects.select_related("parent").in_bulk([c for c, _ in ranked])
    return [Suggestion(categories[c], p) for c, p in ranked if c in categories]


def suggest_handler(case: Case, category: Category):
    """Who handled this kind of request in this grid most often (a user or a department);
    failing that, the category's default department. None means the grid's own worker."""
    past = (
        Case.objects.filter(
            region_code=case.region_code, category=category, status=Case.Status.CLOSED
        )
        .values_list("handler_department_id", "handler_id")
        .order_by("-closed_at")[:200]
    )
    counts = Counter(("department", d) if d else ("user", u) for d, u in past if d or u)
    if counts:
        return counts.most_common(1)[0][0]
    if category.default_department_id:
        return ("department", category.default_department_id)
    return None


def evaluate(county_code: str, share: float = 0.2, seed: int = 1, cold: bool = False) -> dict:
    """Hold out a share of the county's closed requests, learn from the rest, and report how
    often the suggested category was right (first guess, or among the first three).
    `cold` learns from the categories' names and keywords only (a county's first day)."""
    import random

    closed = list(
        Case.objects.filter(
            region_code__within=county_code, status=Case.Status.CLOSED, category__isnull=False
        ).values_list("id", "category_id", "description")
    )
    random.Random(seed).shuffle(closed)
    held = closed[: int(len(closed) * share)]
    model = build(county_code, exclude_ids=[pk for pk, _, _ in (closed if cold else held)])
    first = top3 = 0
    for _, category_id, description in held:
        ranked = [c for c, _ in model.rank(description)[:3]]
        first += bool(ranked) and ranked[0] == category_id
        top3 += category_id in ranked
    total = len(held) or 1
    return {"tested": len(held), "top1": first / total, "top3": top3 / total}
