"""Query-time order rules (``engram.retrieval.updates``): signal floors, newer first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import numpy as np
import pytest

from engram import Engram
from engram.embed.base import Embedder
from engram.ingest.supersede import narrates_change, tells_replacement
from engram.models import Episode, ItemRef
from engram.retrieval import updates
from engram.retrieval.config import get_preset
from engram.retrieval.pairs import Pair, read
from engram.retrieval.updates import (
    CHANGE,
    Teller,
    _forms,
    anchor_terms,
    answer_clause,
    apply_floors,
    asks_current,
    asks_only,
    asks_past,
    asks_schedule,
    asks_several,
    asks_when_done,
    conflicts,
    earlier_range,
    inherited,
    named,
    naming_terms,
    newer_first,
    same_slot,
    told_apart,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _refs(*ids: str) -> list[ItemRef]:
    return [ItemRef("episode", i) for i in ids]


def test_floors_lift_a_signals_best_into_the_top_n_in_its_order() -> None:
    ranked = _refs(*"abcdefghijklmn")
    out = apply_floors(ranked, lambda r: r, _refs("m", "b", "l"), floor_rank=5)
    assert [r.id for r in out] == ["a", "b", "c", "m", "l", "d", "e", "f", "g", "h", "i", "j",
                                   "k", "n"]
    assert apply_floors(ranked, lambda r: r, _refs("a", "zz"), 5) == ranked  # nothing to lift
    assert sorted(r.id for r in out) == sorted(r.id for r in ranked)


def test_a_floored_ref_already_in_the_top_n_is_not_pushed_out_by_the_lifted() -> None:
    # the signal's best is at rank 5 of 5; its second and third come up from below: all
    # three end in the top 5, in the signal's order at the last places
    ranked = _refs(*"abcdefghij")
    out = apply_floors(ranked, lambda r: r, _refs("e", "h", "j"), floor_rank=5)
    assert [r.id for r in out] == ["a", "b", "e", "h", "j", "c", "d", "f", "g", "i"]
    # one already high up keeps its place; only the one the lift would push out comes along
    out = apply_floors(ranked, lambda r: r, _refs("a", "e", "h"), floor_rank=5)
    assert [r.id for r in out][:5] == ["a", "b", "c", "e", "h"]
    for tops in (_refs("e", "h", "j"), _refs("d", "e", "i"), _refs("a", "b", "c", "d", "j")):
        out = apply_floors(ranked, lambda r: r, tops, floor_rank=5)
        assert {r.id for r in tops} <= {r.id for r in out[:5]}
        assert sorted(r.id for r in out) == sorted(r.id for r in ranked)


def test_asks_past() -> None:
    for q in ("What car did I drive before?", "Which team did she use to support?",
              "What was the original deadline?", "Where did he live in 2019?",
              "Have I ever met Bryan?"):
        assert asks_past(q), q
    for q in ("What car do I drive?", "When did they first meet?", "What is the deadline now?",
              "What does she use to edit photos?",  # "use to" without "did" is no past
              "How old is the user's daughter?"):  # an age, not the old one
        assert not asks_past(q), q


def test_before_what_comes_next_is_a_condition_not_the_past() -> None:
    # a question in the present tense: "before" opens what is done next
    for q in ("How many approvals does a pull request need before merging?",
              "What do I take before bed?", "What should I eat before running?",
              "How long are the database backups retained before deletion?",
              "What does Nicolas do before bed?", "How long do I rest before sprinting?",
              "Which checks run before deployment?"):
        assert not asks_past(q), q
    # but "before" at the end, before a name, a date or a clause, or with a verb in
    # the past tense, is an earlier time
    for q in ("Have I been to Paris before?", "Where did I work before?",
              "What do I drive before that?", "What is the name of the puppy she got two "
              "weeks before August 11, 2023?", "What problems does Andrew face before he "
              "adopted Toby?", "Which city was John in before traveling to Chicago?",
              "What phone did I use before the iPhone?", "Where do I live now, and before?",
              "What did I weigh before the diet?"):
        assert asks_past(q), q


def test_asks_current() -> None:
    for q in ("What pet does the user have?", "Where is the wedding going to be?",
              "Which bank do I use now?", "What's the name of the band?",
              "Who provides their internet?", "Who hosts the podcast with her?",
              "How many people have I mentored?"):
        assert asks_current(q), q
    for q in ("What did Kate bake?", "When did they meet?", "Where was the party?",
              "How long had she lived there?", "Who was at the party?", "Who hosted it?"):
        assert not asks_current(q), q


def test_a_verb_in_the_present_on_the_owners_things_asks_a_current_value() -> None:
    """Session 37: "Which platform hosts my podcast?" asks what hosts it now, as "Which
    platform does ... host?" does. Only on the owner's own things ("my", "our", "the
    user's"): "Which activity helps Nate escape?" asks about a trait of someone in a
    chat, whose statements hold together (read as current, it cost LoCoMo three
    questions' first hits)."""
    for q in ("Which platform hosts my podcast?", "What tool schedules our pipeline jobs?",
              "Which company processes the user's payments?",
              "Which chemist fills the user's prescriptions?",
              "Which lender holds the user's mortgage?", "Who cuts my hair?"):
        assert asks_current(q), q
    for q in ("Which activity helps Nate escape?", "What motivates John's team?",
              "Which company processed my payments?", "What tool scheduled our jobs?",
              "Which platform hosted my podcast in 2022?", "What platforms my podcast uses?"):
        assert not asks_current(q), q


def test_a_part_of_the_owners_things_before_a_verb_in_the_present() -> None:
    """Session 48: the subject may be a part or a share of the owner's thing ("What
    share of my salary goes into my pension?"): the verb after it is in the present, as
    in "Which platform hosts my podcast?"; not the past, nor someone else's."""
    for q in ("What share of my salary goes into my pension?",
              "Which part of our garden gets the afternoon sun?",
              "What portion of my rent covers the bills?",
              "Which room of the user's flat doubles as an office?",
              "What percentage of our budget goes to marketing?"):
        assert asks_current(q), q
    for q in ("What share of my salary went into my pension?",
              "Which part of our garden got flooded in 2022?",
              "What percentage of Nate's budget goes to games?"):
        assert not asks_current(q), q


def test_how_much_the_owners_thing_holds_at_once_asks_a_current_value() -> None:
    """Session 48: "How many cards can sit in the doing column of our board at once?"
    asks a capacity that holds now, as "How far can I run?" asks a reach; not a thing of
    someone else's, nor "could"."""
    for q in ("How many cards can sit in the doing column of our board at once?",
              "How many guests can our flat sleep?", "How much weight can my van carry?",
              "How many people can the user's car seat?"):
        assert asks_current(q), q
    for q in ("How many people can Nate fit in his car?", "How many cards could sit there?",
              "How can I add more cards to our board?"):
        assert not asks_current(q), q


def test_what_the_owner_chose_is_asked_as_it_holds_now() -> None:
    """Session 37: "Which caterer did we go with?" asks for the choice that holds, the
    last one made, though it says "did"; not "Who did I go with to the gig?" (company on
    an event), nor when or where a choice was made, nor what someone else picked."""
    for q in ("Which caterer did we go with?", "Which caterer did we go with for the wedding?",
              "Which paint colour did we pick for the living room?",
              "What did I settle on for the logo?", "Which venue have we chosen?",
              "Which framework did the user end up going with?",
              "What font did I opt for?", "Which plan did we decide on?"):
        assert asks_current(q), q
    for q in ("Who did I go with to the gig?", "Where did we go for dinner?",
              "When did we pick the venue?", "What did Caroline pick?",
              "What did we eat at the wedding?"):
        assert not asks_current(q), q


def test_how_far_what_the_owner_can_do_reaches_is_asked_as_it_holds_now() -> None:
    """Session 37: "How fast can I swim 400 metres?" asks a value held now; "How can I
    ...?" asks for a way, and "can" of someone else or in a sentence about what helps
    stays as it was (session 36 measured "can" for every question: chat sets lost)."""
    for q in ("How fast can I swim 400 metres?", "How many push-ups can the user do?",
              "How long can the user's company keep going before the money runs out?",
              "How much weight can I deadlift?", "How fast can the user type?"):
        assert asks_current(q), q
    for q in ("How can I organize multiple points in my CV?", "What other exercises can "
              "help John?", "How fast could I swim last year?", "How far can Nate run?",
              "Can you list the order of topics?"):
        assert not asks_current(q), q


def test_a_when_clause_of_a_habit_keeps_a_question_current() -> None:
    """Session 36: a "when" inside a question that opens a clause telling no event says
    when a habit holds; the question still asks for a current value. A "when" that asks,
    or opens a clause telling an event, asks about the event."""
    for q in ("Where does the user's cat stay when they go away?",
              "What does the user take when a migraine starts?",
              "Where does the dog go when we are on holiday?",
              "Who looks after the kids when the user works late?",
              "What does Paola like to do when traveling?",
              "Which route does the user cycle when it rains?"):
        assert asks_current(q), q
    for q in ("When is the launch?", "When does the user go swimming?", "And when is it?",
              "How many days are there between when I planned the review and the call?",
              "What does the user do when she moved to Leeds?",
              "Where does he stay when?",
              "What is the user's job when she started at the firm?"):
        assert not asks_current(q), q


def _groups(texts: list[str], rel: list[float] | None = None) -> set[tuple[int, int]]:
    times = [T0 + timedelta(days=i) for i in range(len(texts))]
    return conflicts(texts, times, [None] * len(texts), rel or [])


def test_statements_sharing_a_frame_or_stating_a_change_conflict() -> None:
    same_frame = ["Nora Fishel and Eliza Woodley collaborated on a charity event.",
                  "Joren Sullivar and Eliza Woodley collaborated on a charity event."]
    assert _groups(same_frame) == {(0, 1)}
    denial = ["Samantha Waverly and Peter Branson are siblings.",
              "Samantha Waverly is an only child and has no siblings."]
    assert _groups(denial) == {(0, 1)}
    unrelated = ["I adore hiking in the Alps.", "The quarterly report is due on Friday."]
    assert _groups(unrelated) == set()
    # a statement far less relevant to the query than the best one takes no part
    assert _groups(same_frame, [0.8, 0.2]) == set()
    # a question naming what only the older one says asks about the older one
    times = [T0, T0 + timedelta(days=1)]
    assert conflicts(same_frame, times, [None, None], [], frozenset({"nora"})) == set()


def test_close_meaning_conflicts_only_with_some_shared_terms() -> None:
    """Chat turns on one topic are close in meaning without replacing each other."""
    times = [T0, T0 + timedelta(days=1)]
    close = [np.array([1.0, 0.0]), np.array([0.8, 0.6])]  # cosine .8
    job = ["I work as a nurse at the hospital.", "I work as a teacher at the school."]
    assert conflicts(job, times, close, changes=False) == {(0, 1)}
    chat = ["Lost my job as a banker yesterday, so I'm taking a shot at my own business.",
            "Yesterday I chose to go to networking events to make things happen."]
    assert conflicts(chat, times, close, changes=False) == set()


def test_a_change_the_older_statement_states_too_replaces_nothing() -> None:
    times = [T0, T0 + timedelta(days=1)]
    related = [np.array([1.0, 0.0]), np.array([0.5, 0.866])]  # cosine .5
    state = ["I play the guitar in a small band.", "Now I mostly play the piano."]
    assert conflicts(state, times, related) == {(0, 1)}
    narration = ["I started playing the guitar in a small band.", "Now I mostly play the piano."]
    # two turns that both narrate a change replace nothing, in one session or two
    assert conflicts(narration, times, related, sessions=["s1", "s1"]) == set()
    assert conflicts(narration, times, related, sessions=["s1", "s2"]) == set()
    # in one session a statement without a marker after another replaces nothing
    facts = ["Ana is a nurse at the county hospital.", "Ana is a nurse at the city hospital."]
    assert conflicts(facts, times, related, sessions=["s1", "s1"]) == set()
    assert conflicts(facts, times, related, sessions=["s1", "s2"]) == {(0, 1)}
    fixed = ["Ana is a nurse at the county hospital.", "Actually, she works at the city hospital."]
    assert conflicts(fixed, times, related, sessions=["s1", "s1"]) == {(0, 1)}


def _asked(query: str) -> frozenset[str]:
    from engram.retrieval.rerank import _terms

    return _terms(query)


def test_an_older_denial_is_a_state_not_a_change() -> None:
    """The narration exemption (both statements tell of a change) does not count a
    denial in the older one: "it never breaks" describes the bike, "I started"
    would narrate."""
    times = [T0, T0 + timedelta(days=90)]
    vec = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    asked = _asked("What kind of bike do I ride?")
    bike = ["I ride a heavy old Dutch bike, it's slow but it never breaks.",
            "Someone stole it, so I've got a lightweight gravel bike now."]
    assert conflicts(bike, times, vec, [0.5, 0.5], asked=asked) == {(0, 1)}
    told = ["I started riding a heavy old Dutch bike last spring.", bike[1]]
    assert conflicts(told, times, vec, [0.5, 0.5], asked=asked) == set()


def test_one_answer_given_twice_without_a_marker() -> None:
    """Both answer clauses hold most of what a current-value question asks and are
    close in meaning: the newer gives the current answer, with no marker and no
    number; not for a question about an event, nor for statements far apart."""
    times = [T0, T0 + timedelta(days=60)]
    close = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    far = [np.array([1.0, 0.0]), np.array([0.3, 0.954])]  # cosine .3
    asked = _asked("Which way does my desk face?")
    desk = ["My desk at work faces the window.",
            "After the reshuffle my desk faces the wall by the printer."]
    assert conflicts(desk, times, close, [0.5, 0.45], asked=asked) == {(0, 1)}
    assert conflicts(desk, times, close, [0.5, 0.45], asked=asked, changes=False) == set()
    assert conflicts(desk, times, far, [0.5, 0.45], asked=asked) == set()


def test_a_change_close_to_the_answer_replaces_it_without_answering_itself() -> None:
    """The newer statement holds none of the query's words and its cosine to the
    query is far below the best, but it states a change and is close in meaning
    to the older statement that answers: it takes part and replaces it."""
    times = [T0, T0 + timedelta(days=60)]
    asked = _asked("What interest rate is my mortgage?")
    rate = ["Our mortgage interest rate is fixed at 1.9 percent until spring.",
            "The fixed deal ended and now we pay 4.6 percent."]
    close = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    assert conflicts(rate, times, close, [0.64, 0.36], asked=asked) == {(0, 1)}
    far = [np.array([1.0, 0.0]), np.array([0.4, 0.917])]  # cosine .4
    # far in meaning, another number in the same unit with a change replaces it
    # (session 10: "1.9 percent" / "4.6 percent"); in another unit, nothing
    assert conflicts(rate, times, far, [0.64, 0.36], asked=asked) == {(0, 1)}
    pounds = [rate[0], "The fixed deal ended and now we pay 400 pounds more."]
    assert conflicts(pounds, times, far, [0.64, 0.36], asked=asked) == set()
    plain = [rate[0], "We pay 4.6 percent on the loan for the van."]  # no change stated
    assert conflicts(plain, times, close, [0.64, 0.36], asked=asked) == set()


def test_the_user_a_question_names_is_not_a_word_the_answer_holds() -> None:
    """"the user's cholesterol": statements say "my"; the answer clauses of both
    cover what is asked and give other numbers, so the newer one wins."""
    texts = {"old": "At my check-up the nurse said my cholesterol was 6.8, too high.",
             "x": "The weather was lovely today.",
             "new": "Good news from the surgery: after months of walks my cholesterol is 5.1."}
    when = {"old": T0, "x": T0 + timedelta(days=3), "new": T0 + timedelta(days=90)}
    vec = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0]), 2: np.array([0.0, 1.0])}
    out = newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, vec,
                      query="What is the user's cholesterol level?")
    assert out == ["new", "old", "x"]


def test_the_answer_clause_is_the_clause_holding_most_query_terms() -> None:
    turn = ("I'm trying to implement a secure login for my app, considering the recent growth "
            "of commits merged into the main branch, which has now reached 165, and I've never "
            "deployed this app anywhere.\n```python\ngit merge main  # commits\n```")
    clause, held = answer_clause(turn, _asked("How many commits are merged into the main branch?"))
    assert clause.endswith("commits merged into the main branch")
    assert "never deployed" not in clause and "git merge" not in clause  # code is not read
    assert held == 4
    # a statement holding no query term is read whole
    assert answer_clause("We adopted a corgi.", _asked("What pet?")) == ("We adopted a corgi.", 0)


def test_markers_count_in_the_answer_clause_only() -> None:
    """A long turn whose answer holds no change does not replace the older answer
    because some other clause says "never" or "now"."""
    times = [T0, T0 + timedelta(days=3)]
    # cosine .45: related, not close enough to be one answer given twice
    vec = [np.array([1.0, 0.0]), np.array([0.45, 0.893])]
    asked = _asked("Which database does the team use?")
    turns = ["The team uses MongoDB for the orders service.",
             "Our team uses that database for the orders. The office is quiet. I've never "
             "been happier and we now deploy on Fridays."]
    assert conflicts(turns, times, vec, [0.6, 0.6]) == {(0, 1)}  # markers anywhere
    assert conflicts(turns, times, vec, [0.6, 0.6], asked=asked) == set()
    moved = ["The team uses MongoDB for the orders service.",
             "I've been busy. The team uses PostgreSQL for the orders service now, we migrated."]
    assert conflicts(moved, times, vec, [0.6, 0.6], asked=asked) == {(0, 1)}


def test_with_the_query_words_a_statement_must_answer_the_query() -> None:
    """Given the query's words, a statement takes part when its answer clause holds
    enough of them or its cosine is close to the best one's, not merely within the
    wide margin used without them."""
    times = [T0, T0 + timedelta(days=3)]
    vec = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]
    asked = _asked("Which database does the team use?")
    turns = ["The team uses MongoDB for the orders service.",
             "Lately I switched to cycling to work instead of taking the bus."]
    assert conflicts(turns, times, vec, [0.7, 0.45]) == {(0, 1)}  # within .3 of the best
    assert conflicts(turns, times, vec, [0.7, 0.45], asked=asked) == set()


def test_in_one_telling_a_change_must_say_what_the_question_asks() -> None:
    """A list of facts about one person (one session): a later fact stating an event
    about something else does not replace the one that answers; a change that says
    what the question asks still does (letta core-memory read)."""
    times = [T0, T0 + timedelta(minutes=5)]
    vec = [np.array([1.0, 0.0]), np.array([0.8, 0.6])]  # cosine .8
    asked = _asked("Which field does Melira Mirando specialize in as a botanist?")
    names = frozenset({"melira", "mirando"})
    facts = ["Melira Mirando is a botanist specializing in rare medicinal plants.",
             "Melira Mirando discovered a new species of orchid in the Amazon."]
    one = ["s1", "s1"]
    assert conflicts(facts, times, vec, [0.6, 0.6], names, sessions=one, asked=asked) == set()
    assert conflicts(facts, times, vec, [0.6, 0.6], names, sessions=one) == {(0, 1)}
    fixed = [facts[0], "Actually, Melira Mirando now specializes in alpine mosses as a botanist."]
    assert conflicts(fixed, times, vec, [0.6, 0.6], names, sessions=one, asked=asked) == {(0, 1)}


def test_answer_clauses_holding_other_numbers_conflict_for_a_current_question() -> None:
    """Two long turns whose answer clauses both hold the query's words and a number,
    not the same ones: the newer gives the current value, with no marker at all."""
    times = [T0, T0 + timedelta(days=3)]
    far = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]  # nothing alike as a whole
    asked = _asked("How many sources are in my Zotero library?")
    turns = ["I'm tagging everything by theme, date and author this week, it's slow work. "
             "My Zotero library has 45 sources.",
             "Formatting citations in APA is driving me mad, honestly. I count 52 sources in "
             "the Zotero library."]
    assert conflicts(turns, times, far, [0.5, 0.5], asked=asked) == {(0, 1)}
    assert conflicts(turns, times, far, [0.5, 0.5], asked=asked, changes=False) == set()
    # the newer one holds few of the query's words but is close in meaning
    weigh = ["The vet weighed Biscuit at 14 kilos, heavy for a beagle.",
             "Biscuit is down to 12 kilos after all the extra walks."]
    close = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    asked_w = _asked("How much does Biscuit weigh?")
    assert conflicts(weigh, times, close, [0.6, 0.45], asked=asked_w) == {(0, 1)}
    # far in meaning: only another number in the same unit ("kilos") replaces it
    assert conflicts(weigh, times, far, [0.6, 0.45], asked=asked_w) == {(0, 1)}
    collar = [weigh[0], "Biscuit is down to a 12 inch collar after all the extra walks."]
    assert conflicts(collar, times, far, [0.6, 0.45], asked=asked_w) == set()
    same = [turns[0], turns[1].replace("52", "45")]
    assert conflicts(same, times, far, [0.5, 0.5], asked=asked) == set()  # said again


def test_a_value_in_the_clause_after_the_answer_clause_counts() -> None:
    """The answer clause names the thing, the clause after it gives its value
    ("..., which has now reached 165"): the numbers are read there (BEAM)."""
    times = [T0, T0 + timedelta(days=3)]
    far = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    asked = _asked("How many commits are merged into the main branch?")
    turns = ["The repository has 150 commits merged into the main branch so far.",
             "I'm adding a login page, considering the commits merged into the main branch, "
             "which has now reached 165, and I need a plan."]
    assert conflicts(turns, times, far, [0.5, 0.5], asked=asked) == {(0, 1)}
    # BEAM's "->-> 5,30" tail (on its own line or not) is no clause: no value
    tail = [turns[0], "I'm adding a login page, considering the commits merged into the main "
            "branch.\n->-> 5,30"]
    assert conflicts(tail, times, far, [0.5, 0.5], asked=asked) == set()
    # a value further away is not read
    later = [turns[0], "I'm adding a login page, considering the commits merged into the main "
             "branch. I need a plan. The team has 165 members."]
    assert conflicts(later, times, far, [0.5, 0.5], asked=asked) == set()


def test_a_name_only_the_older_holds_does_not_hold_back_a_new_value() -> None:
    """A question naming what only the older statement says asks about it, unless
    both answer with a value: then the name is context and the number the answer."""
    times = [T0, T0 + timedelta(days=30)]
    far = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    asked = _asked("How many women do I mentor in Caribbean media?")
    names = frozenset({"caribbean"})
    turns = ["I mentor 5 women in Caribbean media and I'm proud of it.",
             "The number of women I mentor in media has grown to 7."]
    assert conflicts(turns, times, far, [0.5, 0.5], names, asked=asked) == {(0, 1)}
    frames = ["Nora and Eliza organised the Caribbean media night.",
              "Joren and Eliza organised the media night."]
    assert conflicts(frames, times, far, [0.5, 0.5], names,
                     asked=_asked("Who organised the Caribbean media night?")) == set()


def test_a_newer_statement_just_below_the_top_depth_can_replace_one_in_it() -> None:
    """The hit just below the top ``depth`` takes part as a newer statement when its
    answer clause holds the query's words; an older statement there stays put."""
    texts = {"old": "I drive a blue Volvo to work.", "x": "The weather was lovely today.",
             "y": "We had pasta for dinner.",
             "new": "I sold the Volvo and now I drive a Subaru to work."}
    when = {"old": T0, "x": T0 + timedelta(days=3), "y": T0 + timedelta(days=4),
            "new": T0 + timedelta(days=9)}
    q = "What car do I drive to work?"
    out = newer_first(["old", "x", "new"], 2, texts.__getitem__, when.__getitem__, {}, query=q)
    assert out == ["new", "old", "x"]
    assert newer_first(["old", "x", "y", "new"], 2, texts.__getitem__, when.__getitem__, {},
                       query=q) == ["old", "x", "y", "new"]  # beyond reach
    # the newer one in the top depth, the older just below it: nothing moves
    assert newer_first(["new", "x", "old"], 2, texts.__getitem__, when.__getitem__, {},
                       query=q) == ["new", "x", "old"]


def test_newer_first_moves_the_newer_statement_just_above_the_older() -> None:
    texts = {"old": "I drive a blue Volvo to work.", "x": "The weather was lovely today.",
             "new": "I sold the Volvo and now I drive a Subaru to work."}
    when = {"old": T0, "x": T0 + timedelta(days=3), "new": T0 + timedelta(days=9)}
    out = newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, {})
    assert out == ["new", "old", "x"]
    vec = {i: np.eye(3, dtype=np.float32)[i] for i in range(3)}
    assert newer_first(["x", "old"], 1, texts.__getitem__, when.__getitem__, vec) == ["x", "old"]


def test_new_as_a_plain_adjective_states_no_change() -> None:
    """"a/my/the new X" replaces something; "explores new trails" does not."""
    assert CHANGE.search("She has a new job at the bakery.") is not None
    assert CHANGE.search("Our new flat is by the river.") is not None
    assert CHANGE.search("He often explores new trails with his friends.") is None


def test_a_dated_event_both_statements_name_is_corrected_by_the_newer() -> None:
    """"Which award did she win in 2021?" is about an earlier time, yet when both
    statements name 2021 the newer one corrects the older; a question naming a
    year neither states keeps the ranker's order."""
    assert anchor_terms("Which award did Vera win in 2021 for her parks?") == {"2021"}
    assert anchor_terms("What car did I drive before?") == frozenset()
    times = [T0, T0 + timedelta(days=1)]
    award = ["Vera Lind received the Green City Award in 2021 for her park designs.",
             "Vera Lind received the Urban Design Medal in 2021 for her park designs."]
    anchor = anchor_terms("Which award did Vera Lind receive in 2021?")
    assert conflicts(award, times, [None, None], changes=False, anchor=anchor) == {(0, 1)}
    lived = ["I live in a flat in Boston near the harbour.",
             "I live in a flat in Denver near the park."]
    assert conflicts(lived, times, [None, None], changes=False) == {(0, 1)}
    assert conflicts(lived, times, [None, None], changes=False,
                     anchor=anchor_terms("Where did I live in 2019?")) == set()


@pytest.fixture(scope="module")
def pets(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engram:
    """A chat where the question's words are everywhere but in the answer."""
    eg = Engram(str(tmp_path_factory.mktemp("floor") / "f.db"), embedder=embedder)
    chatter = [f"The {w} user has a locked account; does the user have a password reset?"
               for w in ("new", "odd", "big", "slow", "old", "main", "last", "next", "web",
                         "mobile", "data", "beta", "admin", "guest", "test", "third")]
    turns = [*chatter[:8], "Big news: we adopted a corgi puppy on Saturday!", *chatter[8:]]
    eg.add([{"text": t, "role": "user", "occurred_at": T0 + timedelta(minutes=i)}
            for i, t in enumerate(turns)], user_id="u", session_id="s")
    return eg


def test_a_top_dense_match_without_shared_words_stays_in_the_top_10(pets: Engram) -> None:
    q = "What pet does the user have?"
    dense = pets.search(q, user_id="u", preset="dense", limit=3, track_access=False)
    assert any("corgi" in h.item.text for h in dense)
    hits = pets.search(q, user_id="u", limit=10, track_access=False)
    assert {h.item.id for h in dense} <= {h.item.id for h in hits}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    off = get_preset("recall").replace(name="recall-off", floors={}, keep_top=0)
    plain = pets.search(q, user_id="u", limit=10, preset=off, track_access=False)
    assert len(plain) == 10


def test_an_irregular_past_tells_an_event_and_a_participle_after_be_a_state() -> None:
    from engram.ingest.supersede import tells_event

    for told in ("We rewrote the billing service in Rust.", "Grandma went into a home in May.",
                 "The club gave me a new locker.", "She's moved to a flat in Leith.",
                 "They migrated the blog to Ghost."):
        assert tells_event(told), told
    for state in ("The blog is hosted on a small VPS.", "The van is insured with a local firm.",
                  "Our office is based in Croydon.", "I'm married to a chef.",
                  "The old printer is gone.", "My sister is a dentist.", "I put it there."):
        assert not tells_event(state), state


def test_an_event_told_as_someone_elses_replaces_a_state() -> None:
    """"My piano teacher is Ines" / "Ines went back to Lisbon, so I have lessons
    with Karl": the newer answers by meaning, holds none of the question's words
    and tells an event (an irregular past) after a state."""
    times = [T0, T0 + timedelta(days=90)]
    close = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    asked = _asked("Who is my piano teacher?")
    teacher = ["My piano teacher is Ines, she is very patient.",
               "Ines went back to Lisbon, so I have lessons with Karl at the school."]
    assert conflicts(teacher, times, close, [0.6, 0.3], asked=asked) == {(0, 1)}
    both_states = [teacher[0], "Karl has a studio near the school with a grand."]
    assert conflicts(both_states, times, close, [0.6, 0.3], asked=asked) == set()


def test_both_answer_clauses_holding_what_is_asked_are_one_subject() -> None:
    """Two statements far apart in meaning whose answer clauses both hold the
    question's words are about one thing: an event after a state replaces it."""
    times = [T0, T0 + timedelta(days=90)]
    far = [np.array([1.0, 0.0]), np.array([0.35, 0.937])]  # cosine .35
    asked = _asked("Which language is the mobile app written in?")
    app = ["The mobile app is written in Java, sadly.",
           "Over the winter we rewrote the mobile app in Kotlin."]
    assert conflicts(app, times, far, [0.55, 0.4], asked=asked) == {(0, 1)}
    other = [app[0], "Over the winter we rewrote the website in Elm."]
    assert conflicts(other, times, far, [0.55, 0.4], asked=asked) == set()


def test_a_newer_answering_by_its_words_replaces_an_answer_by_meaning() -> None:
    """The older answers by meaning only (its clause holds none of the question's
    words, its cosine is the best); a newer statement whose answer clause holds
    them and states a change replaces it; one that states no change does not."""
    times = [T0, T0 + timedelta(days=90)]
    close = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    asked = _asked("Where does the user keep the family photos backed up?")
    photos = ["All our pictures sit on an old external drive.",
              "The drive died, so I switched the family photos to a cloud service."]
    assert conflicts(photos, times, close, [0.55, 0.3], asked=asked) == {(0, 1)}
    unrelated = [photos[0], "Some family photos hang in the hallway."]  # no change told
    assert conflicts(unrelated, times, close, [0.55, 0.3], asked=asked) == set()


def test_words_in_capitals_are_not_names_of_what_is_asked() -> None:
    assert naming_terms("Who is the user's GP?", ["gp"]) == frozenset()
    assert naming_terms("Which VPN does Omar use?", ["vpn", "omar"]) == {"omar"}
    assert naming_terms("What did Nora win in 2019?", ["nora"]) == {"nora", "2019"}


def test_a_title_a_name_is_called_by_is_not_the_name() -> None:
    """"Auntie Bev" is Bev: a later "Bev switched to a Canary Islands cruise" names
    her too, so the question does not ask about the older statement only."""
    for query, names, expected in (
            ("Where is Auntie Bev sailing to?", ["Auntie Bev"], {"bev"}),
            ("What does Grandad Joe grow?", ["Grandad Joe"], {"joe"}),
            ("Which club does Coach Ortiz run?", ["Coach Ortiz"], {"ortiz"}),
            ("Where does Uncle Bob live now?", ["Uncle Bob"], {"bob"}),
            ("Where does Nan live?", ["Nan"], set()),
            ("Who does Ben Dixon work for?", ["Ben Dixon"], {"ben", "dixon"})):
        assert naming_terms(query, names) == expected, query


def test_a_when_question_takes_a_stated_change_only() -> None:
    """"When is ...?" asks for a planned time: a stated change moves it ("pushed
    the launch back"); an event or an answer given twice alone does not."""
    for q in ("When is the launch?", "When does the user's contract end?",
              "when are the exams?", "When am I meeting the Lisbon client?",
              "When am I due at the clinic?"):
        assert asks_schedule(q) and not asks_current(q), q
    for q in ("When did the launch happen?", "When was the party?", "What is the date?",
              "When was I meeting the Lisbon client?"):
        assert not asks_schedule(q), q
    when = {"old": T0, "x": T0 + timedelta(days=3), "new": T0 + timedelta(days=60)}
    texts = {"old": "The product launch is on the 4th of March.",
             "x": "The weather was lovely today.",
             "new": "Marketing pushed the product launch back to the 20th of April."}
    q = "When is the product launch?"  # search passes present=asks_current(q)
    assert newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, {},
                       present=False, query=q) == ["new", "old", "x"]
    texts["new"] = "Everyone loved the demo we recorded for the product launch."  # an event
    assert newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, {},
                       present=False, query=q) == ["old", "x", "new"]
    # a time moved to another, or one that holds from now on, is a moved time too
    for moved in ("The product launch moved to the 20th of April.",
                  "The product launch was changed to the 20th of April.",
                  "Product launches happen on the 20th from now on."):
        texts["new"] = moved
        assert newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, {},
                           present=False, query=q) == ["new", "old", "x"], moved


def test_a_value_set_right_corrects_and_an_older_denial_lets_an_event_replace_it() -> None:
    from engram.ingest.supersede import corrects

    assert corrects("Her flat is on the fourth floor, not the third.")
    assert corrects("Sorry, I got that wrong: the gig is at the Roundhouse.")
    assert not corrects("I'll have tea, not coffee, with breakfast.")  # a taste
    times = [T0, T0 + timedelta(days=90)]
    close = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]  # cosine .6
    asked = _asked("What is the puppy called?")
    # "doesn't have a name yet" is a state; the name chosen later is an event after it
    puppy = ["The puppy is not called anything yet, we can't agree.",
             "In the end we named the puppy Biscuit."]
    assert conflicts(puppy, times, close, [0.6, 0.5], asked=asked) == {(0, 1)}


def test_names_are_capitalised_runs_that_open_no_sentence() -> None:
    """A name is a run of capitalised words inside a sentence, with the word
    before it (its slot); "I", abbreviations and the calendar's names are none."""
    assert named("We bank with Monzo since June, and I like it.") == (
        ("with", frozenset({"monzo"})),)
    assert named("Sofia Marques left. Our coach is Bill Hart now.") == (
        ("", frozenset({"marqu"})), ("is", frozenset({"bill", "hart"})))
    # the opening word of a run that opens a sentence is dropped, the rest kept
    assert named("Coach Bill left the club") == (("", frozenset({"bill"})),)
    assert named("My GPS and the AI app agree on Friday") == ()


def test_a_newer_statement_naming_the_older_value_reads_its_slot() -> None:
    """``refers``: the newer names the older's value (all its words, even opening
    a sentence) and says something of its own; ``fills``: it gives another name
    where the older gives one (the same word before it)."""
    asked = _asked("Which bank does the user have an account with?")
    old = "My salary goes into an account with Barclays."
    assert same_slot(old, "Barclays closed the branch, so I opened one at Monzo.", asked) == (
        True, False)
    assert same_slot(old, "I moved everything to an account with Starling.", asked) == (
        False, True)
    # a name the question gives is its subject, not a value
    asked_b = _asked("Which account does the user keep at Barclays?")
    assert same_slot(old, "Barclays sent me a new card.", asked_b) == (False, False)
    # a name of several words is named only by all of them
    assert same_slot("I shoot on a Canon EOS R6.", "I sold the Canon lens.",
                     _asked("What camera does the user shoot on?")) == (False, False)


def test_a_newer_statement_naming_the_older_value_and_telling_an_event_replaces_it() -> None:
    """Two short statements in other sessions, the newer holding none of the
    question's words and far from it in meaning: it names the older's value and
    tells an event ("The Honda got written off"), or gives another name in its slot
    with an event ("switched the account to ..."): the newer gives the current
    value. Without an event, a correction or a change, a mention replaces nothing."""
    times = [T0, T0 + timedelta(days=90)]
    far = [np.array([1.0, 0.0]), np.array([0.2, 0.98])]  # cosine .2
    asked = _asked("What car does the user drive?")
    car = ["I drive a little Honda Jazz to work.",
           "The Honda Jazz got written off in the crash, the insurers gave me a Skoda Fabia."]
    assert conflicts(car, times, far, [0.6, 0.3], asked=asked, sessions=["a", "b"]) == {(0, 1)}
    mention = [car[0], "The Honda Jazz is filthy, I must wash it this weekend."]
    assert conflicts(mention, times, far, [0.6, 0.3], asked=asked, sessions=["a", "b"]) == set()
    # a question about the past takes no change (``changes=False``)
    assert conflicts(car, times, far, [0.6, 0.3], asked=asked, changes=False) == set()
    asked_s = _asked("Where does the user keep their savings?")
    savings = ["I keep my savings with Nationwide, the rate is fine.",
               "I moved the savings pot to an account with Chase last month."]
    assert conflicts(savings, times, far, [0.6, 0.3], asked=asked_s,
                     sessions=["a", "b"]) == {(0, 1)}
    # another name in the slot, on another subject (none of the question's words)
    other = [savings[0], "I moved the club's kitty to an account with Chase last month."]
    assert conflicts(other, times, far, [0.6, 0.3], asked=asked_s, sessions=["a", "b"]) == set()


def test_a_value_told_in_turn_is_read_where_the_older_is_the_nearest_hit() -> None:
    """Session 34: "Sold the Volvo and picked up a little Golf" holds no word of "What car
    does the user drive?"; as the hit nearest the question it still answers it, and
    "Traded the Golf in for an electric Kia" names its value and tells an event. Not the
    nearest, and holding no word of the question, it is not read."""
    times = [T0, T0 + timedelta(days=130)]
    far = [np.array([1.0, 0.0]), np.array([0.2, 0.98])]  # cosine .2
    asked = _asked("What car does the user drive?")
    chain = ["Sold the Volvo last month and picked up a little Golf.",
             "Traded the Golf in for an electric Kia, loving the quiet."]
    assert conflicts(chain, times, far, [0.4, 0.1], asked=asked, sessions=["a", "b"]) == {
        (0, 1)}
    assert conflicts(chain, times, far, [0.4, 0.45], asked=asked, sessions=["a", "b"]) == set()


def test_numbers_in_words_are_values_in_short_statements() -> None:
    """"three evenings a week" / "five evenings a week" hold other numbers; in
    turns too long to read as one, in their sentences on the question too
    (session 12), but a number in words elsewhere in such a turn is prose."""
    times = [T0, T0 + timedelta(days=60)]
    far = [np.array([1.0, 0.0]), np.array([0.3, 0.954])]  # cosine .3
    asked = _asked("How many evenings a week does the user train?")
    train = ["I train three evenings a week at the club.",
             "From May the coach wants me training five evenings a week."]
    assert conflicts(train, times, far, [0.6, 0.5], asked=asked) == {(0, 1)}
    filler = ["We also talked through the drills, the warm-up plan, the kit, the fixtures "
              "list and who drives to the away games in the minibus this season. " * 4,
              "Then somebody brought up the quiz night, the raffle prizes, the new shower "
              "block and whether the bar should take cards from now on, honestly. " * 4]
    long = [f"{filler[0]} {train[0]}", f"{filler[1]} {train[1]}"]  # over 80 words each
    assert conflicts(long, times, far, [0.6, 0.5], asked=asked) == {(0, 1)}
    prose = [f"{filler[0]} I train in the evenings at the club. We ran three laps.",
             f"{filler[1]} I train in the evenings at the club. The coach had us run five laps."]
    assert conflicts(prose, times, far, [0.6, 0.5], asked=asked) == set()


def test_how_long_is_asks_a_current_length_and_a_coming_range_no_earlier_time() -> None:
    assert asks_current("How long is the user's walk to the station?")
    assert not asks_current("How long did the user live in Leeds?")
    now = datetime(2024, 6, 1, tzinfo=UTC)
    summer = (datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 9, 1, tzinfo=UTC))
    last_year = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    assert not earlier_range(*summer, now)  # "this summer": the current period
    assert earlier_range(*last_year, now)
    assert earlier_range(datetime(2024, 3, 1, tzinfo=UTC), None, now)  # "since March"
    assert not earlier_range(None, None, now)


def test_a_time_to_plan_for_takes_a_moved_time_anywhere_in_a_short_statement() -> None:
    """"What time should I ...?" asks for a planned time like "When is ...?"; the
    marker of a moved time is read in the whole of a short statement, not only in
    the clause holding most of the question's words."""
    for q in ("What time should I join the call with Marta?", "When will the movers come?"):
        assert asks_schedule(q), q
    when = {"old": T0, "new": T0 + timedelta(days=2)}
    texts = {"old": "The call with Marta about the budget is on Friday at 10.",
             "new": "I keep forgetting the call with Marta about the budget, so note that "
                    "it got postponed to Monday at 9."}
    q = "What time should I join the call with Marta about the budget?"
    assert newer_first(["old", "new"], 10, texts.__getitem__, when.__getitem__, {},
                       present=False, query=q) == ["new", "old"]
    # in a statement too long to read as one, only the answer clause is read
    filler = ("We went over the seating plan, the caterers, the playlist and who picks "
              "up the cake from the bakery on the morning itself. ") * 5
    texts["new"] = filler + texts["new"]
    assert newer_first(["old", "new"], 10, texts.__getitem__, when.__getitem__, {},
                       present=False, query=q) == ["old", "new"]


def test_another_number_in_the_same_unit_replaces_a_count() -> None:
    """A short newer statement giving another number in a unit the older's answer
    clause counts in ("45 minutes" / "25 minutes") replaces it when it holds a word
    of the question, however far apart in meaning, or tells a change and is
    related in meaning (cosine >= ``CHANGE_MEANING``); a function word after the
    number is no unit ("92 and ...")."""
    times = [T0, T0 + timedelta(days=40)]
    far = [np.array([1.0, 0.0]), np.array([0.1, 0.995])]  # cosine .1
    asked = _asked("How long does the user's bus journey take?")
    bus = ["My bus journey into town takes about 45 minutes.",
           "With the new express lane the journey is down to 25 minutes."]
    assert conflicts(bus, times, far, [0.6, 0.1], asked=asked,
                     sessions=["a", "b"]) == {(0, 1)}
    film = [bus[0], "The film ran 25 minutes over and the popcorn was stale."]
    assert conflicts(film, times, far, [0.6, 0.1], asked=asked, sessions=["a", "b"]) == set()
    related = [np.array([1.0, 0.0]), np.array([0.5, 0.866])]  # cosine .5
    changed = [bus[0], "They added an express lane, so now it's 25 minutes."]
    assert conflicts(changed, times, related, [0.6, 0.1], asked=asked,
                     sessions=["a", "b"]) == {(0, 1)}
    grades = ["My bus journey is 45 and a bit minutes.", "I scored 92 and felt great."]
    assert conflicts(grades, times, far, [0.6, 0.1], asked=asked, sessions=["a", "b"]) == set()


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs)
    return v / np.linalg.norm(v)


def test_a_later_telling_with_a_marker_replaces_a_state_without_the_questions_words() -> None:
    """"I take my coffee with cream" / "I've switched to oat milk": in other
    sessions, each the other's nearest in meaning among the hits read (cosine
    .45), the newer tells a change and holds no word of the question; it
    replaces the older. Not when a third statement is nearer to the older, and not in
    one session. After an older statement that tells an event, the change is no later
    telling of a state; the two, alone on their subject among the hits, are still a
    plain later telling (session 44)."""
    times = [T0, T0 + timedelta(days=90), T0 + timedelta(days=100)]
    asked = _asked("How does the user take their coffee?")
    said = ["I take my coffee with cream.", "I've switched to oat milk, dairy disagrees with me.",
            "The neighbours painted their fence blue."]
    pair = [_unit(1, 0, 0), _unit(0.45, 0.893, 0), _unit(0, 0, 1)]
    rel = [0.5, 0.25, 0.1]
    sessions = ["a", "b", "c"]
    assert conflicts(said, times, pair, rel, asked=asked, sessions=sessions) == {(0, 1)}
    nearer = pair[:2] + [_unit(0.9, 0, 0.436)]  # the third is the older's nearest
    assert (0, 1) not in conflicts(said, times, nearer, rel, asked=asked, sessions=sessions)
    assert conflicts(said, times, pair, rel, asked=asked, sessions=["a", "a", "c"]) == set()
    events = ["I tried my coffee with cream at the new cafe.", *said[1:]]
    reading = read(events, pair, rel, asked=asked, sessions=sessions)
    assert not Pair(reading, 0, 1).by_slot_or_telling and Pair(reading, 0, 1).plain_telling
    # a question about the past, or none about a current value, keeps the order
    assert conflicts(said, times, pair, rel, asked=asked, sessions=sessions,
                     changes=False) == set()


def test_a_later_telling_without_a_marker_replaces_only_when_it_stands_apart() -> None:
    """"Most days I grab a meal deal for lunch" / "I've been bringing leftovers
    for lunch": no marker, close in meaning (cosine .7) and .15 closer to each
    other than to any other hit read, the one later statement on the subject. A
    third hit on the same topic (cosine .65: turns of a chat) takes that away."""
    times = [T0, T0 + timedelta(days=90), T0 + timedelta(days=100)]
    asked = _asked("What does the user eat for lunch?")
    said = ["Most days I grab a meal deal from the supermarket for lunch.",
            "I've been bringing leftovers from home for lunch to save money.",
            "It rained all weekend at the seaside."]
    apart = [_unit(1, 0, 0), _unit(0.7, 0.714, 0), _unit(0, 0, 1)]
    rel = [0.5, 0.25, 0.1]
    sessions = ["a", "b", "c"]
    assert conflicts(said, times, apart, rel, asked=asked, sessions=sessions) == {(0, 1)}
    topic = apart[:2] + [_unit(0.65, 0, 0.76)]
    assert conflicts(said, times, topic, rel, asked=asked, sessions=sessions) == set()


@pytest.mark.parametrize("text, narrates", [
    ("We've been renting a flat in Madrid for three years now.", False),
    ("I've played for the club for a while now.", False),
    ("Been vegetarian for about two years now", False),
    ("We packed everything up and moved to Lisbon in the spring.", True),
    ("I live in Leeds now.", True),
    ("For now I write everything in Notion.", True),
])
def test_a_span_of_time_up_to_now_narrates_no_change(text: str, narrates: bool) -> None:
    """"for three years now" tells how long a state has held; "now" alone a change."""
    assert narrates_change(text) is narrates


def test_a_later_telling_after_a_state_told_for_years_now_replaces_it() -> None:
    """"We've been renting in Madrid for three years now" / "moved to Lisbon": the
    older states a state, not a change, and the later telling replaces it."""
    times = [T0, T0 + timedelta(days=180)]
    asked = _asked("Where does the user live?")
    said = ["We've been living in a rented flat in Madrid for three years now.",
            "We packed everything up and moved to Lisbon in the spring."]
    pair = [_unit(1, 0, 0), _unit(0.46, 0.888, 0)]
    assert conflicts(said, times, pair, [0.4, 0.2], asked=asked,
                     sessions=["a", "b"]) == {(0, 1)}


def test_the_densest_answer_without_the_questions_words_has_later_tellings() -> None:
    """"I use NordVPN ..." holds no word of "Which VPN does the user have?" (one token,
    "nordvpn") but is the hit nearest the question: "Cancelled Nord and went with
    Mullvad", each other's nearest in meaning in another session, replaces it. A
    statement neither holding the question's words nor nearest it does not."""
    times = [T0, T0 + timedelta(days=180), T0 + timedelta(days=190)]
    asked = _asked("Which VPN does the user have?")
    said = ["I use NordVPN on my laptop when I'm travelling.",
            "Cancelled Nord and went with Mullvad, it's cheaper.",
            "The neighbours painted their fence blue."]
    pair = [_unit(1, 0, 0), _unit(0.42, 0.907, 0), _unit(0, 0, 1)]
    sessions = ["a", "b", "c"]
    assert conflicts(said, times, pair, [0.36, 0.03, 0.1], asked=asked,
                     sessions=sessions) == {(0, 1)}
    assert conflicts(said, times, pair, [0.3, 0.03, 0.36], asked=asked,
                     sessions=sessions) == set()


def test_a_later_telling_of_a_change_need_not_name_what_the_question_names() -> None:
    """"What level of French ...?" names "French", which only "I'm doing the A2 French
    course" says; "Passed the A2 exam! Starting B1 next month", its later telling, tells
    a change and replaces it. A newer statement that is not the older's later telling
    (a third hit nearer to the older) still leaves a statement the question names
    alone."""
    times = [T0, T0 + timedelta(days=180), T0 + timedelta(days=190)]
    query = "What level of French is the user studying?"
    asked = _asked(query)
    names = naming_terms(query, ["French"])
    said = ["I'm doing the A2 French course on Tuesday evenings.",
            "Passed the A2 exam! Starting B1 next month.",
            "The neighbours painted their fence blue."]
    pair = [_unit(1, 0, 0), _unit(0.67, 0.742, 0), _unit(0, 0, 1)]
    rel = [0.46, 0.17, 0.1]
    sessions = ["a", "b", "c"]
    assert conflicts(said, times, pair, rel, names, asked=asked, sessions=sessions) == {(0, 1)}
    # the third, said in the older's session, is nearer to it
    nearer = pair[:2] + [_unit(0.9, 0, 0.436)]
    assert conflicts(said, [*times[:2], T0 + timedelta(hours=1)], nearer, rel, names,
                     asked=asked, sessions=["a", "b", "a"]) == set()


def test_another_telling_of_one_message_is_not_a_nearest_statement() -> None:
    """A memory derived from the older message ("The user commutes by car") is nearer
    to it than anything else; it is not another statement on the subject, so the older
    message and its later telling are still each other's nearest."""
    times = [T0, T0, T0 + timedelta(days=180)]
    asked = _asked("How does the user get to work?")
    said = ["I drive to work, about 25 minutes.", "The user commutes by car",
            "I've switched to cycling in every day, the car stays on the drive."]
    vectors = [_unit(1, 0, 0), _unit(0.95, 0.312, 0), _unit(0.45, 0, 0.893)]
    rel = [0.3, 0.35, 0.05]  # the newer answers by neither its words nor its meaning
    sessions = ["a", None, "b"]
    origins = [frozenset({"m1"}), frozenset({"m1"}), frozenset({"m2"})]
    assert (0, 2) in conflicts(said, times, vectors, rel, asked=asked, sessions=sessions,
                               origins=origins)
    assert (0, 2) not in conflicts(said, times, vectors, rel, asked=asked, sessions=sessions)


def test_what_all_messages_share_does_not_make_two_near() -> None:
    """Session 34: small talk is near every short message (what all of a user's messages
    share). Raw, "I keep all my passwords in LastPass" is nearest a line of small talk;
    with the user's mean vector taken away first, it is nearest its later telling, and
    the two are each other's nearest, so the later telling of a change replaces it."""
    from engram.retrieval.nearness import pairs_apart as _pairs_apart

    mean = np.array([0.0, 0.0, 0.8])  # the user's mean message vector, weighted
    old, new, chat = _unit(0.4, 0, 0.9), _unit(0.5, 0.5, 0.5), _unit(0, -0.2, 0.98)
    assert _pairs_apart([old, new, chat])[0] == {0: 2, 1: 0, 2: 0}
    assert _pairs_apart([old, new, chat], centre=mean)[0] == {0: 1, 1: 0, 2: 0}
    # a vector the centre would cancel stays as it is
    assert _pairs_apart([_unit(0, 0, 1), old, new], centre=np.array([0, 0, 1.0]))[0][0] == 1
    times = [T0, T0 + timedelta(days=120), T0 + timedelta(days=3)]
    query = "What password manager does the user use?"
    said = ["I keep all my passwords in LastPass.",
            "Moved everything over to Bitwarden after the breach news.",
            "Nice, anything else new?"]
    rel = [0.35, 0.06, 0.1]
    sessions = ["a", "b", "c"]
    assert (0, 1) not in conflicts(said, times, [old, new, chat], rel, asked=_asked(query),
                                   sessions=sessions)
    assert (0, 1) in conflicts(said, times, [old, new, chat], rel, asked=_asked(query),
                               sessions=sessions, centre=mean)


def test_another_telling_of_one_message_is_not_nearest_in_words_either() -> None:
    """Long turns' sentences are paired by the words they share: a memory that repeats
    its message's words is not the message's nearest statement."""
    from engram.retrieval.nearness import nearest_in_words as _nearest_in_words

    terms = [frozenset({"drive", "work", "minut"}), frozenset({"drive", "work", "commut"}),
             frozenset({"cycl", "work", "drive", "car"})]
    assert _nearest_in_words(terms) == {0: 1, 1: 0, 2: 0}
    told = [frozenset({"m1"}), frozenset({"m1"}), frozenset({"m2"})]
    assert _nearest_in_words(terms, told) == {0: 2, 1: 2, 2: 0}


def test_one_speakers_statement_does_not_replace_anothers() -> None:
    """Jon's "Still working on opening a dance studio" and Gina's later "I've started
    opening a dance studio" share their frame and tell a change, yet Gina's is no newer
    value of what Jon said; the same words from Jon replace it. A memory, or a message
    naming no speaker, is told by anyone."""
    times = [T0, T0 + timedelta(days=30)]
    far = [np.array([1.0, 0.0]), np.array([0.6, 0.8])]
    asked = _asked("What is Jon working on opening?")
    said = ["Still working on opening a dance studio downtown.",
            "I've started opening a dance studio downtown now."]
    sessions = ["a", "b"]
    for tellers, pairs in ((["Jon", "Gina"], set()), (["user", "assistant"], set()),
                           (["Jon", "Jon"], {(0, 1)}), (["Jon", None], {(0, 1)}),
                           ([None, None], {(0, 1)})):
        assert conflicts(said, times, far, [0.5, 0.5], asked=asked, sessions=sessions,
                         tellers=tellers) == pairs, tellers


@pytest.mark.parametrize("a, b, apart", [
    ("Jon", "Gina", True), ("user", "assistant", True), ("Jon", "Jon", False),
    ("Jon", None, False), (None, None, False),
])
def test_told_apart(a: Teller | None, b: Teller | None, apart: bool) -> None:
    assert told_apart(a, b) is apart
    assert told_apart(b, a) is apart


def test_no_more_is_a_marker_of_change() -> None:
    assert CHANGE.search("Had laser eye surgery in the spring, no more glasses.")


#: the talk around an update in a long message (over 80 words with the update)
_BEFORE = ("Hi again, sorry for the silence, the week got away from me with the school run, "
           "a leaking gutter and my mother's birthday lunch, which went on for hours. ",
           "Morning! Grey and drizzly here, the cat refuses to go out and the neighbours "
           "are drilling again, so I'm hiding in the kitchen with a coffee. ")
_AFTER = (" Anyway, the real reason I'm writing is the trip in June: could you suggest a "
          "route through the hills with a pub stop, nothing longer than four hours, and "
          "remind me what to pack if the forecast turns? Thanks so much, as always.",
          " What I'd love help with today is a birthday present for my nephew, who is "
          "turning twelve and into astronomy and football, ideally under forty pounds "
          "and something that isn't another screen, maybe a telescope or a book of the "
          "night sky he could take camping with his dad. Cheers!")


def _long(update: str, told: int = 0) -> str:
    """``update`` in the talk of a long message (``told``: 0 or 1, two different talks)."""
    return _BEFORE[told] + update + _AFTER[told]


def test_a_long_message_is_read_by_its_sentence_on_the_question() -> None:
    """A message of 80-300 words is read by the sentence that speaks of the
    question (session 12): the slot reader, a stated change and a shared frame
    apply to it as to a short statement; the rest of the message is small talk."""
    times = [T0, T0 + timedelta(days=120)]
    far = [np.array([1.0, 0.0]), np.array([0.2, 0.98])]  # cosine .2: no help from meaning
    rel = [0.5, 0.4]
    bank = _asked("Which bank does the user use?")
    old = _long("For what it's worth, we bank with Barclays, one joint account for everything.")
    new = _long("We closed the Barclays accounts in May and took everything to Nationwide.", 1)
    assert min(len(old.split()), len(new.split())) > 80
    assert conflicts([old, new], times, far, rel, asked=bank, sessions=["a", "b"]) == {(0, 1)}
    # the question's word in a sentence about something else replaces nothing
    other = _long("The bank holiday traffic was awful, we sat on the motorway for hours.", 1)
    assert conflicts([old, other], times, far, rel, asked=bank, sessions=["a", "b"]) == set()
    # two tellings of one frame with another value ("works as a vet" / "a baker")
    job = _asked("What does Orla Quinlan do for a living?")
    vet = _long("My cousin Orla Quinlan works as a vet in a small practice near Galway.")
    baker = _long("My cousin Orla Quinlan works as a baker in a small shop near Galway.", 1)
    assert conflicts([vet, baker], times, far, rel, asked=job, sessions=["a", "b"]) == {(0, 1)}
    # a number in words in the sentence on the question is a value
    days = _asked("How many days a week does the user work from home?")
    two = _long("I work from home two days a week and go in on the others.")
    four = _long("Since the office moved I work from home four days a week.", 1)
    assert conflicts([two, four], times, far, rel, asked=days, sessions=["a", "b"]) == {(0, 1)}


def test_a_reply_laid_out_as_a_document_is_not_read_by_sentence() -> None:
    """Headings, lists and bold, or over 300 words, make a reply a document: its
    sentences are not read as statements of their own."""
    times = [T0, T0 + timedelta(days=120)]
    far = [np.array([1.0, 0.0]), np.array([0.2, 0.98])]
    job = _asked("What does Orla Quinlan do for a living?")
    vet = _long("My cousin Orla Quinlan works as a vet in a small practice near Galway.")
    doc = ("### Your family\n\n- **Orla Quinlan** works as a baker in a small shop near "
           "Galway.\n" + _AFTER[1] * 3)
    assert len(doc.split()) > 80
    assert conflicts([vet, doc], times, far, [0.5, 0.4], asked=job,
                     sessions=["a", "b"]) == set()
    essay = _long("My cousin Orla Quinlan works as a baker in a small shop near Galway."
                  + _AFTER[1] * 8, 1)
    assert len(essay.split()) > 300
    assert conflicts([vet, essay], times, far, [0.5, 0.4], asked=job,
                     sessions=["a", "b"]) == set()


def test_a_later_telling_in_long_messages_needs_their_sentences_nearest_in_words() -> None:
    """Long messages' vectors tell the whole message, so the later telling takes
    two sentences holding one word of the question that are each other's nearest
    in words among the hits read; a third hit nearer in words to the older's
    sentence (another telling on the subject) stops it."""
    times = [T0, T0 + timedelta(days=120), T0 + timedelta(days=60)]
    vecs = [np.array([1.0, 0.0]), np.array([0.2, 0.98]), np.array([0.0, 1.0])]
    tea = _asked("How does the user take their tea?")
    milk = _long("I take my tea strong with a splash of milk, builder's style.")
    black = _long("These days I drink my tea black, the milk was upsetting my stomach.", 1)
    small = "Did you see the match on Saturday? Brilliant second half."
    got = conflicts([milk, black, small], times, vecs, [0.5, 0.4, 0.1], asked=tea,
                    sessions=["a", "b", "c"])
    assert got == {(0, 1)}
    nearer = "I take my tea strong with a splash of milk, builder's style, always have."
    got = conflicts([milk, black, nearer], times, vecs, [0.5, 0.4, 0.45], asked=tea,
                    sessions=["a", "b", "c"])
    assert (0, 1) not in got


def test_a_planned_time_told_again_with_another_time_replaces_it() -> None:
    """For "When is ...?" (``marked``) a newer answer that tells another time
    (month, weekday, number) replaces the older, with no marker of a move, when
    the two are each other's nearest in meaning (cosine >= .5); the same time told
    again, or a nearer third statement, replaces nothing (session 12)."""
    times = [T0, T0 + timedelta(days=40), T0 + timedelta(days=20)]
    asked = _asked("When is the user's piano recital?")
    old = "My piano recital is on Saturday the 14th at the town hall."
    new = "The hall was double booked, so the piano recital is on Sunday the 22nd."
    small = "We had a lovely walk along the river on Sunday."
    vecs = [np.array([1.0, 0.0, 0.0]), np.array([0.8, 0.6, 0.0]), np.array([0.0, 0.0, 1.0])]
    rel = [0.6, 0.5, 0.1]
    kw = {"asked": asked, "marked": True, "sessions": ["a", "b", "c"]}
    assert conflicts([old, new, small], times, vecs, rel, **kw) == {(0, 1)}
    again = "Tickets for Saturday the 14th are sold out, the recital will be packed."
    close = [np.array([1.0, 0.0, 0.0]), np.array([0.6, 0.8, 0.0]), np.array([0.0, 0.0, 1.0])]
    assert conflicts([old, again, small], times, close, rel, **kw) == set()
    assert conflicts([old, new, small], times, close, rel, **kw) == {(0, 1)}
    nearer = [np.array([1.0, 0.0, 0.0]), np.array([0.6, 0.8, 0.0]), np.array([0.9, 0.0, 0.436])]
    other = "The piano recital for the juniors is on Friday the 13th at the town hall."
    assert (0, 1) not in conflicts([old, new, other], times, nearer, rel, **kw)


def test_another_name_in_the_slot_holds_a_question_word_with_a_prefix() -> None:
    """Session 13: "remortgaged with Halifax" gives another name in the slot of
    "mortgage is with Nationwide" and holds the question's "mortgage" with a
    prefix (:func:`~engram.retrieval.updates._forms`), so it replaces it; a
    prefix needs four letters after it, and another name in the slot with no word
    of the question, even with a prefix, replaces nothing."""
    assert {"mortgag", "subscrib"} <= _forms("We remortgaged, I unsubscribed.")
    assert "ad" not in _forms("I read the paper.")
    times = [T0, T0 + timedelta(days=90)]
    far = [np.array([1.0, 0.0]), np.array([0.35, 0.937])]  # cosine .35
    for question, old, new in [
        ("Who is the user's mortgage with?", "Our mortgage is with Nationwide.",
         "We remortgaged with Halifax when the deal ended."),
        ("Which agent lists the user's house?", "The house is listed with Savills.",
         "We relisted with Purplebricks after a quiet month."),
        ("Where is the user's car registered?", "The van is registered in Ohio.",
         "I reregistered it in Texas after the move."),
    ]:
        assert conflicts([old, new], times, far, [0.6, 0.2], asked=_asked(question),
                         sessions=["a", "b"]) == {(0, 1)}, question
    other = ["Our mortgage is with Nationwide.", "We reinsured the van with Aviva."]
    assert conflicts(other, times, far, [0.6, 0.2], asked=_asked("Who is the mortgage with?"),
                     sessions=["a", "b"]) == set()


def test_another_name_for_a_subject_with_a_stated_change_replaces_the_older() -> None:
    """Session 13 (:func:`~engram.retrieval.slots.renames`): both statements
    name a subject by a word of the question and give a name, the newer another
    one and a stated change ("from now on", "now", "these days", "actually"),
    whatever word stands before the names. Without a stated change, or on a
    subject of its own, two names are a list."""
    times = [T0, T0 + timedelta(days=120)]
    far = [np.array([1.0, 0.0]), np.array([0.3, 0.954])]  # cosine .3
    for question, old, new in [
        ("What's the name of the band?", "We called the band The Lemon Drops.",
         "The band had a vote and we're The Night Porters from now on."),
        ("What is the boat called?", "Our boat is a little dinghy, Puffin.",
         "The boat got a new coat of paint, and she's Kittiwake now."),
        ("What is the team called?", "The quiz team plays as Quizzy Rascals.",
         "Our team is going by The Know-It-Ails these days."),
    ]:
        asked = _asked(question)
        assert conflicts([old, new], times, far, [0.6, 0.4], asked=asked,
                         sessions=["a", "b"]) == {(0, 1)}, question
    asked = _asked("What's the name of the band?")
    old = "We called the band The Lemon Drops."
    for new in ["The band played with The Night Porters at the festival.",  # no change
                "My choir is The Larks now, we sing on Tuesdays."]:  # no word of the question
        assert conflicts([old, new], times, far, [0.6, 0.4], asked=asked,
                         sessions=["a", "b"]) == set(), new


def test_a_memory_of_a_replaced_message_is_replaced_with_it() -> None:
    """Session 21 (:func:`inherited`): a pair (older, newer) whose newer statement tells
    a change carries every other item of the top ``depth`` that tells the older one's
    message and not the newer one's: a memory derived from it, or the message under a
    replaced memory."""
    a, b, c = frozenset({"a"}), frozenset({"b"}), frozenset({"c"})
    # 0: a memory of a; 1: the message a; 2: small talk b; 3: the newer message c
    texts = ["Ana drives a Volvo", "I drive a Volvo.", "Nice weather today.",
             "I sold the Volvo and bought a Subaru."]
    assert inherited({(1, 3)}, [a, a, b, c], 4, texts) == {(1, 3), (0, 3)}
    # a memory that tells both messages, or none (no origin), is not replaced by c
    assert inherited({(1, 3)}, [a | c, a, b, c], 4, texts) == {(1, 3)}
    assert inherited({(1, 3)}, [frozenset(), a, b, c], 4, texts) == {(1, 3)}
    # the replaced item is a memory: its message goes below the newer one too
    assert inherited({(0, 3)}, [a, a, b, c], 4, texts) == {(0, 3), (1, 3)}
    # only the top depth can be replaced
    assert inherited({(1, 3)}, [b, a, c, a], 3, [texts[2], texts[1], texts[3], texts[0]]
                     ) == {(1, 3)}
    # a newer turn that tells no change takes the place of its own pair only
    for said in ("Not much, work has been busy.", "Whats your favourite car?",
                 "The Volvo is parked outside."):
        assert inherited({(1, 3)}, [a, a, b, c], 4, [*texts[:3], said]) == {(1, 3)}, said
    for said in ("Actually it's a Saab, not a Volvo.", "We switched to a Subaru.",
                 "The Volvo was stolen last week."):
        assert inherited({(1, 3)}, [a, a, b, c], 4, [*texts[:3], said]) == {(1, 3), (0, 3)}, said


def test_a_memory_that_answers_is_replaced_only_by_a_stated_replacement() -> None:
    """Session 32: a memory holding the question's words ("Maya lives in Porto" for
    "Where does Maya live?") goes below a newer statement that holds none of them only
    when that one says outright that a value was replaced, not when it only denies or
    narrates (the demo's "Too much, he didn't want to come home. Next project ..." was
    paired with the message "I moved to Porto" and took the memory's first place)."""
    a, b, c = frozenset({"a"}), frozenset({"b"}), frozenset({"c"})
    texts = ["Maya lives in Porto", "Big news! I moved to Porto last weekend!",
             "Nice weather today."]
    answers = [True, False, False, False]
    for said in ("Too much, he didn't want to come home. Next project, I'm planning to "
                 "run the Porto half marathon.",
                 "He was confused for a day, then found the sunniest spot on the balcony.",
                 "We never made it to the beach, it rained all week."):
        assert inherited({(1, 3)}, [a, a, b, c], 4, [*texts, said], answers) == {(1, 3)}, said
        # without knowing what answers, as before: the memory goes too
        assert inherited({(1, 3)}, [a, a, b, c], 4, [*texts, said]) == {(1, 3), (0, 3)}, said
    for said in ("Big update: I finally relocated to Braga for the new job.",
                 "We switched flats again, Matosinhos this time.",
                 "Actually it's Gaia, not Porto: I got the address wrong.",
                 "She is nine, not seven."):
        assert inherited({(1, 3)}, [a, a, b, c], 4, [*texts, said], answers
                         ) == {(1, 3), (0, 3)}, said
    # a newer statement that holds the question's words replaces as before
    said = "Too much, we didn't want to live by the sea after all."
    assert inherited({(1, 3)}, [a, a, b, c], 4, [*texts, said], [True, False, False, True]
                     ) == {(1, 3), (0, 3)}


@pytest.mark.parametrize(("text", "replaced"), [
    ("I relocated to Bristol for the new role.", True),
    ("I've switched to oat milk.", True),
    ("These days I mostly cycle.", True),
    ("Actually, the meeting is on Thursday.", True),
    ("He is nine, not seven.", True),
    ("I got that wrong, it was Lisbon.", True),
    ("He didn't want to come home.", False),
    ("I never liked the city much.", False),
    ("We found a lovely cafe and stayed for hours.", False),
    ("It isn't far from the station.", False),
])
def test_tells_replacement(text: str, replaced: bool) -> None:
    assert tells_replacement(text) is replaced


def test_newer_first_moves_the_newer_message_above_a_memory_of_the_older() -> None:
    texts = {"mem": "Ana's estate car is a family heirloom.",
             "old": "I drive a blue Volvo to work.",
             "x": "The weather was lovely today.",
             "new": "I sold the Volvo and now I drive a Subaru to work."}
    when = {"mem": T0, "old": T0, "x": T0 + timedelta(days=3), "new": T0 + timedelta(days=9)}
    origin = {"mem": frozenset({"old"}), "old": frozenset({"old"}), "x": frozenset({"x"}),
              "new": frozenset({"new"})}
    q = "What car do I drive to work?"
    ranked = ["mem", "old", "x", "new"]
    assert newer_first(ranked, 10, texts.__getitem__, when.__getitem__, {},
                       query=q) == ["mem", "new", "old", "x"]
    assert newer_first(ranked, 10, texts.__getitem__, when.__getitem__, {}, query=q,
                       origin_of=origin.__getitem__) == ["new", "mem", "old", "x"]


def test_a_stale_memory_ranks_below_the_message_that_replaced_it(
        tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> None:
    """End to end on a real file: the rules derive "Ana is pescatarian" from the older
    message and nothing from the newer one; the newer message ranks above both (without
    the rule the memory ranks first)."""
    eg = Engram(str(tmp_path_factory.mktemp("stale") / "s.db"), embedder=embedder)
    try:
        for session, text, day in (("s1", "I'm pescatarian, I eat fish but no meat.", 0),
                                   ("s2", "How was the match on Sunday?", 40),
                                   ("s3", "I've cut out fish too, everything I eat has been "
                                          "plant-based since the summer.", 180)):
            eg.add([{"text": text, "speaker": "Ana", "occurred_at": T0 + timedelta(days=day)}],
                   user_id="ana", session_id=session)
        assert any(m.text == "Ana is pescatarian" for m in eg.list(user_id="ana").items)
        hits = eg.search("What is my diet?", user_id="ana", limit=5, track_access=False)
        assert hits[0].item.text.startswith("I've cut out fish too")
        assert {h.item.text for h in hits[1:3]} == {"Ana is pescatarian",
                                                    "I'm pescatarian, I eat fish but no meat."}
    finally:
        eg.close()


def test_a_question_that_tells_no_change_replaces_nothing() -> None:
    """Session 21: a newer turn that only asks ("Whats your favourite car?") states no
    value; a request that tells a change ("Can you remind me ... is rescheduled ...?")
    and a statement followed by a question still replace."""
    for asked in ("Whats your favorite food", "Anything interesting on TV lately?",
                  "How was the match on Sunday?", "Do you still drive? Or cycle?"):
        assert asks_only(asked), asked
    for said in ("I drive to work.", "Not much, work has been busy.",
                 "Yes! I moved to Lisbon. How about you?", "Do you still drive? I sold mine."):
        assert not asks_only(said), said
    old = "I drive a blue Volvo to work."
    q = "What car do I drive to work?"
    for new, moves in (("Which car do you drive to work?", False),
                       ("Can you remind me I sold the Volvo and drive a Subaru to work now?",
                        True)):
        texts = {"old": old, "x": "The weather was lovely today.", "new": new}
        times = {"old": T0, "x": T0 + timedelta(days=3), "new": T0 + timedelta(days=9)}
        out = newer_first(["old", "x", "new"], 10, texts.__getitem__, times.__getitem__, {},
                          query=q)
        assert out == (["new", "old", "x"] if moves else ["old", "x", "new"]), new


def test_a_tracked_preference_replaces_nothing() -> None:
    """Session 21: a tracked preference (one memory per topic, ``gathers``) is never the
    newer side of a pair: likings add up."""
    texts = {"old": "I drive a blue Volvo to work.", "x": "The weather was lovely today.",
             "new": "I sold the Volvo and now I drive a Subaru to work."}
    when = {"old": T0, "x": T0 + timedelta(days=3), "new": T0 + timedelta(days=9)}
    q = "What car do I drive to work?"
    assert newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, {},
                       query=q) == ["new", "old", "x"]
    assert newer_first(["old", "x", "new"], 10, texts.__getitem__, when.__getitem__, {},
                       query=q, gathers=lambda k: k == "new") == ["old", "x", "new"]


def test_another_speakers_later_turn_does_not_move_above_a_speakers_own_statement(
        tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> None:
    """End to end on a real file: Gina's later turn about her own garden, which shares
    Jon's words and tells a change, stays below Jon's statement for a question about
    Jon; Jon's own later turn moves above it."""
    eg = Engram(str(tmp_path_factory.mktemp("tellers") / "t.db"), embedder=embedder)
    try:
        for session, speaker, text, day in (
                ("s1", "Jon", "I grow tomatoes and courgettes in my back garden.", 0),
                ("s2", "Gina", "I've started growing tomatoes and courgettes in my garden now.",
                 60)):
            eg.add([{"text": text, "speaker": speaker, "occurred_at": T0 + timedelta(days=day)}],
                   user_id="chat", session_id=session)
        q = "What does Jon grow in his garden?"
        hits = eg.search(q, user_id="chat", limit=5, track_access=False)
        episodes = [h.item for h in hits if isinstance(h.item, Episode)]
        assert [e.speaker for e in episodes[:2]] == ["Jon", "Gina"]
        eg.add([{"text": "I've started growing peppers instead of tomatoes in my garden now.",
                 "speaker": "Jon", "occurred_at": T0 + timedelta(days=90)}],
               user_id="chat", session_id="s3")
        hits = eg.search(q, user_id="chat", limit=5, track_access=False)
        episodes = [h.item for h in hits if isinstance(h.item, Episode)]
        assert episodes[0].text.startswith("I've started growing peppers")
    finally:
        eg.close()


def _told_in_turn(said: list[str], vec: list[np.ndarray], rel: list[float], query: str,
                  **kw: object) -> set[tuple[int, int]]:
    """:func:`conflicts` of three statements told 0, 150 and 280 days in, one a session."""
    times = [T0 + timedelta(days=d) for d in (0, 150, 280)]
    return conflicts(said, times, vec, rel, asked=_asked(query), sessions=["a", "b", "c"],
                     **kw)  # type: ignore[arg-type]


def test_a_value_that_replaced_one_is_replaced_in_turn_by_its_next() -> None:
    """"I take my coffee black" / "I've started adding oat milk to my coffee" /
    "Switched to decaf with almond milk": the middle one narrates a change, so on its own
    it is not a state a later change replaces; but it replaced the value before it, so it
    states a value, and the newest, nearest it in meaning, replaces it in turn
    (:data:`~engram.retrieval.updates.CHAIN`). A statement that replaced several (a
    topic's hub in a chat) is not chained."""
    query = "How does the user take their coffee?"
    said = ["I take my coffee black.", "I've started adding oat milk to my coffee.",
            "Switched to decaf with almond milk, doctor's orders."]
    # the middle's nearest is the first (.6), the newest's nearest the middle (.45)
    vec = [_unit(1, 0, 0), _unit(0.6, 0.8, 0), _unit(0.2, 0.4125, 0.889)]
    assert _told_in_turn(said, vec, [0.5, 0.45, 0.3], query) == {(0, 1), (1, 2)}
    with patch.object(updates, "CHAIN", 1):  # one pass: the narration replaces nothing
        assert _told_in_turn(said, vec, [0.5, 0.45, 0.3], query) == {(0, 1)}
    # a newest that does not answer the question by itself (query cosine .1, the best .5)
    # still takes part where it is as close to the chain as a later telling (.45, not .3)
    assert _told_in_turn(said, vec, [0.5, 0.45, 0.1], query) == {(0, 1), (1, 2)}
    far = vec[:2] + [_unit(0.1, 0.3, 0.949)]
    assert _told_in_turn(said, far, [0.5, 0.45, 0.1], query) == {(0, 1)}
    # the middle replaced two statements: it is not one value told in turn
    hub = [said[0], "I take my coffee with sugar.", *said[1:]]
    later = [T0, T0 + timedelta(days=10), T0 + timedelta(days=150), T0 + timedelta(days=280)]
    vec4 = [_unit(1, 0, 0, 0), _unit(0.95, 0, 0, 0.312), _unit(0.6, 0.8, 0, 0),
            _unit(0.2, 0.4125, 0.889, 0)]
    assert conflicts(hub, later, vec4, [0.5, 0.5, 0.45, 0.3], asked=_asked(query),
                     sessions=["a", "d", "b", "c"]) == {(0, 1), (0, 2), (1, 2)}


def test_the_next_value_told_in_turn_needs_no_marker() -> None:
    """"My colleague Dan works in Finance" / "Dan's transferred over to Procurement" /
    "Dan's in Marketing": the newest states the next value with no marker; after a value
    that replaced one it replaces that in turn. Not for a question asking for several
    values (``chain=False``, :func:`~engram.retrieval.asks.asks_several`), nor where a
    statement is longer than a value is told in (:data:`~engram.retrieval.updates.CHAIN_WORDS`)."""
    query = "Which department does the user's colleague work in now?"
    said = ["My colleague Dan works in Finance, he sits next to me.",
            "Dan's transferred over to Procurement.", "Dan's in Marketing."]
    vec = [_unit(1, 0, 0), _unit(0.6, 0.8, 0), _unit(0.2, 0.4125, 0.889)]
    rel = [0.5, 0.45, 0.4]
    assert _told_in_turn(said, vec, rel, query) == {(0, 1), (1, 2)}
    assert _told_in_turn(said, vec, rel, query, chain=False) == {(0, 1)}
    with patch.object(updates, "CHAIN_WORDS", 3):  # the middle one (4 words) is longer
        assert _told_in_turn(said, vec, rel, query) == {(0, 1)}


@pytest.mark.parametrize(("query", "several"), [
    ("What sports does Kevin like?", True),
    ("Which cities has Jon visited?", True),
    ("What kinds of books does Paola like?", True),
    ("What board games has Nate played?", True),
    ("What are Kate's hobbies?", True),
    ("What are the names of Audrey's dogs?", True),
    ("What is the user reading?", False),
    ("Which mobile network is the user on?", False),
    ("What kind of tattoo does Audrey have?", False),
    ("Which bus does the user take?", False),
    ("What class did Kevin have on 21.01.2024?", False),
    ("How many monitors does the user have?", False),
    ("What running shoes does the user wear?", False),
    ("What glasses does the user wear?", False),
    ("What does Chris do for work?", False),  # a name ending in "s" is no plural
    ("What Italian dishes does Elise like?", True),
])
def test_asks_several(query: str, several: bool) -> None:
    assert asks_several(query) is several


def test_a_later_turn_on_an_event_does_not_retell_when_it_happened() -> None:
    """For "When was the party?" ("asks_when_done"): a later turn on the party, close to
    its telling in meaning ("Everyone loved the lake party"), does not replace it; a
    statement said again with another value in the same frame still does ("Anna's
    wedding took place in June 2019" / "... in August 2019")."""
    times = [T0, T0 + timedelta(days=3)]
    close = [_unit(1, 0), _unit(0.8, 0.6)]  # cosine .8
    party = ["Last Saturday we threw a party by the lake.",
             "Everyone loved the lake party, it went on late."]
    assert conflicts(party, times, close, changes=False) == {(0, 1)}
    assert conflicts(party, times, close, changes=False, meaning=False) == set()
    wedding = ["Anna's wedding took place in June 2019.",
               "Anna's wedding took place in August 2019."]
    assert conflicts(wedding, times, close, changes=False, meaning=False) == {(0, 1)}


@pytest.mark.parametrize(("query", "done"), [
    ("When did Jon lose his job as a banker?", True),
    ("When was the party at the lake?", True),
    ("when were the photos taken?", True),
    ("When is the wedding?", False),
    ("What did Jon do after losing his job?", False),
    ("Where did the user live when they were a student?", False),
])
def test_asks_when_done(query: str, done: bool) -> None:
    assert asks_when_done(query) is done
