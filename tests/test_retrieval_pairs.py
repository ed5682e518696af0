"""The pair kinds of the newer-first rule (:mod:`engram.retrieval.pairs`): which kind
decides that a newer statement replaces an older one, and that :attr:`Pair.replaces`
reads them in the documented order (the gate, said again, about the older, one telling,
then the kinds that replace). The rule's behaviour on whole rankings is tested in
``test_retrieval_updates.py``; these tests pin which named kind carries each decision."""

from __future__ import annotations

import numpy as np

from engram.retrieval.pairs import Pair, Reading, read
from engram.retrieval.rerank import _terms


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs)
    return v / np.linalg.norm(v)


def _reading(texts: list[str], vectors: list[np.ndarray | None] | None = None,
             rel: list[float] | None = None, query: str = "", **kw: object) -> Reading:
    return read(texts, vectors or [None] * len(texts), rel or [],
                asked=_terms(query) if query else frozenset(), **kw)  # type: ignore[arg-type]


def test_a_shared_frame_with_one_slot_changed_is_one_subject() -> None:
    """"Nora and Eliza collaborated on X" / "Joren and Eliza collaborated on X"."""
    pair = Pair(_reading(["Nora Fishel and Eliza Woodley collaborated on a charity event.",
                          "Joren Sullivar and Eliza Woodley collaborated on a charity event."]),
                0, 1)
    assert pair.enters and not pair.said_again and not pair.one_telling
    assert pair.one_subject and not pair.by_slot_or_telling and pair.replaces
    # a question naming what only the older says asks about the older: nothing replaced
    named = Pair(_reading(["Nora Fishel and Eliza Woodley collaborated on a charity event.",
                           "Joren Sullivar and Eliza Woodley collaborated on a charity event."],
                          query_terms=frozenset({"nora"})), 0, 1)
    assert named.asks_older and named.one_subject and not named.replaces


def test_the_same_words_said_again_replace_nothing() -> None:
    pair = Pair(_reading(["I live in Porto.", "I live in Porto!"]), 0, 1)
    assert pair.said_again and not pair.replaces


def test_in_one_telling_only_a_change_or_a_correction_replaces() -> None:
    """Two statements of one session are one telling: a shared frame is not enough."""
    related = [_unit(1, 0), _unit(0.5, 0.866)]  # cosine .5
    facts = ["Ana is a nurse at the county hospital.", "Ana is a nurse at the city hospital."]
    plain = Pair(_reading(facts, related, sessions=["s1", "s1"]), 0, 1)
    assert plain.one_telling and plain.one_subject
    assert not plain.changed_in_telling and not plain.replaces
    apart = Pair(_reading(facts, related, sessions=["s1", "s2"]), 0, 1)
    assert not apart.one_telling and apart.replaces
    fixed = Pair(_reading([facts[0], "Actually, she works at the city hospital."], related,
                          sessions=["s1", "s1"]), 0, 1)
    assert fixed.fixes and fixed.changed_in_telling and fixed.replaces


def test_a_newer_naming_the_older_value_and_telling_an_event_replaces_it_by_its_slot() -> None:
    """"I drive a Volvo" / "I sold the Volvo and bought a Subaru"."""
    texts = ["I drive a silver Volvo to work.", "I sold the Volvo and bought a Subaru."]
    pair = Pair(_reading(texts, [_unit(1, 0), _unit(0.6, 0.8)], [0.6, 0.5],
                         "What car does the user drive?", sessions=["a", "b"]), 0, 1)
    assert pair.changed and pair.by_slot_or_telling and pair.replaces


def test_a_later_telling_with_a_marker_replaces_a_state() -> None:
    """"I take my coffee with cream" / "I've switched to oat milk": each the other's
    nearest in meaning, in other sessions, the newer holding no word of the question."""
    texts = ["I take my coffee with cream.", "I've switched to oat milk, dairy disagrees with me.",
             "The neighbours painted their fence blue."]
    reading = _reading(texts, [_unit(1, 0, 0), _unit(0.45, 0.893, 0), _unit(0, 0, 1)],
                       [0.5, 0.25, 0.1], "How does the user take their coffee?",
                       sessions=["a", "b", "c"])
    pair = Pair(reading, 0, 1)
    assert pair.inherits and pair.follows and pair.enters
    assert pair.by_slot_or_telling and pair.replaces
    assert not Pair(reading, 0, 2).replaces  # the fence answers nothing and follows nothing


def test_a_change_close_to_the_answer_is_inherited() -> None:
    """The newer holds no word of the question and is far from it, but states a change
    and is close in meaning to the older that answers."""
    texts = ["Our mortgage interest rate is fixed at 1.9 percent until spring.",
             "The fixed deal ended and now we pay 4.6 percent."]
    pair = Pair(_reading(texts, [_unit(1, 0), _unit(0.6, 0.8)], [0.64, 0.36],
                         "What interest rate is my mortgage?"), 0, 1)
    assert pair.inherits and pair.enters and pair.replaces
    plain = Pair(_reading([texts[0], "We pay 4.6 percent on the loan for the van."],
                          [_unit(1, 0), _unit(0.6, 0.8)], [0.64, 0.36],
                          "What interest rate is my mortgage?"), 0, 1)
    assert not plain.change and not plain.replaces


def test_the_next_value_of_a_chain_needs_no_marker() -> None:
    """"Dan's transferred over to Procurement" / "Dan's in Marketing": after a value that
    replaced one (``chained``, decided by :func:`~engram.retrieval.updates.conflicts`'
    passes), a short statement that answers by itself gives the value now."""
    texts = ["My colleague Dan works in Finance, he sits next to me.",
             "Dan's transferred over to Procurement.", "Dan's in Marketing."]
    reading = _reading(texts, [_unit(1, 0, 0), _unit(0.6, 0.8, 0), _unit(0.2, 0.4125, 0.889)],
                       [0.5, 0.45, 0.4], "Which department does the user's colleague work in now?",
                       sessions=["a", "b", "c"])
    assert Pair(reading, 1, 2, chained=True).next_in_chain
    assert Pair(reading, 1, 2, chained=True).replaces
    unchained = Pair(reading, 1, 2)
    assert not unchained.next_in_chain and not unchained.replaces


def test_a_time_moved_for_a_when_question() -> None:
    """"launch the beta on June 3" / "the beta launch slipped to June 17", each the
    other's nearest in meaning, for "When is ...?" (``marked``: a stated change only)."""
    texts = ["We plan to launch the beta on June 3.", "The beta launch slipped to June 17.",
             "The weather was lovely today."]
    reading = _reading(texts, [_unit(1, 0, 0), _unit(0.8, 0.6, 0), _unit(0, 0, 1)],
                       [0.6, 0.55, 0.1], "When is the beta launch?", marked=True,
                       sessions=["a", "b", "c"])
    assert Pair(reading, 0, 1).retimed
    assert Pair(reading, 0, 1).replaces


def test_a_time_moved_without_the_questions_words_needs_a_told_change() -> None:
    """Session 37: "When does the user leave for the mountain trip in Tanzania?" shares no
    word with "We fly out for the Kilimanjaro trek on 12 June" or "our Kilimanjaro
    departure is now 4 September"; both near the question and each other's nearest in
    meaning, in other sessions, the newer telling a change, it moves the time. Another
    date in a later turn that tells no change ("ready for submission by May 12, can you
    help?") does not."""
    query = "When does the user leave for the mountain trip in Tanzania?"
    vectors = [_unit(1, 0, 0), _unit(0.6, 0.8, 0), _unit(0, 0, 1)]
    older = "We fly out for the Kilimanjaro trek on 12 June, Lemosho route, 8 days."
    for newer, moved in (
            ("The trek company merged two groups, so our Kilimanjaro departure is now "
             "4 September.", True),
            ("Is 4 September a good time for the Kilimanjaro trek, weather-wise?", False)):
        reading = _reading([older, newer, "The weather was lovely today."], vectors,
                           [0.6, 0.55, 0.1], query, marked=True, sessions=["a", "b", "c"])
        assert Pair(reading, 0, 1).retimed is moved, newer
    one = _reading([older, "The trek company merged two groups, so our Kilimanjaro "
                    "departure is now 4 September."], vectors[:2], [0.6, 0.55], query,
                   marked=True, sessions=["a", "a"])
    assert not Pair(one, 0, 1).retimed  # one telling


def test_in_a_chain_the_older_answers_by_the_value_it_replaced() -> None:
    """"I go to a Hatha yoga class" / "Swapped Hatha for Vinyasa flow" / "Yin classes at the
    studio on Mondays" for "What style of yoga ...?": the middle holds no word of the
    question and is far from it, but it replaced a statement that answers; the next value,
    which answers by itself, replaces it in turn (session 36). One that does not answer by
    itself still needs a stated change (:attr:`Pair.inherited_change`)."""
    texts = ["I go to a Hatha yoga class every Tuesday.",
             "Swapped Hatha for Vinyasa flow, I wanted something more energetic.",
             "Yin classes at the studio on Mondays, really helping my lower back."]
    vec = [_unit(1, 0, 0), _unit(0.55, 0.835, 0), _unit(0.49, 0.2, 0.849)]
    reading = _reading(texts, vec, [0.6, 0.3, 0.5], "What style of yoga is the user doing now?",
                       sessions=["a", "b", "c"])
    assert not reading.takes_part[1] and reading.takes_part[2]
    chained = Pair(reading, 1, 2, chained=True)
    assert chained.inherits and chained.next_in_chain and chained.replaces
    assert not Pair(reading, 1, 2).replaces  # not a chain: nothing links the two
    far = _reading(texts, vec, [0.6, 0.3, 0.1], "What style of yoga is the user doing now?",
                   sessions=["a", "b", "c"])
    assert not Pair(far, 1, 2, chained=True).replaces


def test_a_later_telling_with_another_number_replaces_it() -> None:
    """Each the other's nearest in meaning, in other sessions, each giving a number the
    other does not: the later number is the value now ("the performance score is a
    miserable 54 on mobile" / "mobile performance is at 91"; "six till two" / "ten till
    seven"), with no marker of change and no word of the question in the newer."""
    query = "What draw weight is my recurve bow?"
    vectors = [_unit(1, 0, 0), _unit(0.45, 0.893, 0), _unit(0, 0, 1)]
    for older, newer in (
            ("My recurve bow has a 28 lb draw weight.", "Coach put me on 34 lb limbs."),
            ("My recurve bow has a 28 lb draw weight.", "Coach put me on thirty-four lb."),
    ):
        reading = _reading([older, newer, "The neighbours painted their fence blue."],
                           vectors, [0.5, 0.25, 0.1], query, sessions=["a", "b", "c"])
        pair = Pair(reading, 0, 1)
        assert pair.follows and pair.renumbers and pair.by_slot_or_telling, newer
        assert pair.replaces, newer
    # another number may be told a little further in meaning (``TOLD_MEANING``):
    # "My record collection is up to 140 LPs" / "Picked up six at the record fair, which
    # takes me to 212" (cosine .35); a later telling without one may not
    farther = [_unit(1, 0, 0), _unit(0.35, 0.937, 0), _unit(0, 0, 1)]
    records = ["My record collection is up to 140 LPs.",
               "Picked up six at the record fair, which takes me to 212."]
    reading = _reading([*records, "The neighbours painted their fence blue."], farther,
                       [0.5, 0.25, 0.1], "How many vinyl albums does the user own?",
                       sessions=["a", "b", "c"])
    assert Pair(reading, 0, 1).follows and Pair(reading, 0, 1).replaces
    plain = _reading([records[0], "Picked up a few at the record fair.",
                      "The neighbours painted their fence blue."], farther,
                     [0.5, 0.25, 0.1], "How many vinyl albums does the user own?",
                     sessions=["a", "b", "c"])
    assert not Pair(plain, 0, 1).follows and not Pair(plain, 0, 1).replaces
    # the same number told again is not another value
    again = Pair(_reading(["My recurve bow has a 28 lb draw weight.",
                           "Coach says 28 lb is plenty for me."],
                          vectors[:2], [0.5, 0.25], query, sessions=["a", "b"]), 0, 1)
    assert again.follows and not again.renumbers and not again.replaces
    # nor is a number in a statement that does not follow the older one
    apart = Pair(_reading(["My recurve bow has a 28 lb draw weight.",
                           "Coach put me on 34 lb limbs.", "Those limbs are 34 lb too."],
                          [_unit(1, 0, 0), _unit(0.45, 0.893, 0), _unit(0.45, 0.89, 0.05)],
                          [0.5, 0.25, 0.25], query, sessions=["a", "b", "c"]), 0, 1)
    assert not apart.follows and not apart.replaces


def test_a_name_written_shortened_is_named() -> None:
    """"Which office is Rhiannon working out of?" names Rhiannon; a later "Rhi cut the
    secondment short" names her too, so the question does not ask about the older alone.
    A word that only begins like the name does not name it."""
    query = "Which office is Rhiannon working out of?"
    older = "My colleague Rhiannon is on a secondment to the Cardiff office."
    vectors = [_unit(1, 0), _unit(0.6, 0.8)]
    for newer, named in (("Rhi cut the secondment short, she's back in Bristol.", True),
                         ("Rhiannon cut the secondment short, she's back in Bristol.", True),
                         ("She cut the secondment short, she's back in Bristol.", False),
                         ("Rh cut the secondment short, she's back in Bristol.", False),
                         ("Rhino cut the secondment short, she's back in Bristol.", False)):
        pair = Pair(_reading([older, newer], vectors, [0.6, 0.4], query,
                             query_terms=frozenset({"rhiannon"}), sessions=["a", "b"]), 0, 1)
        assert pair.asks_older is not named, newer


def test_a_later_telling_with_another_name_in_the_slot_replaces_it() -> None:
    """"Our static caravan is on the Sandy Bay site" / "Our pitch at the Perranporth site
    looks right over the dunes": each the other's nearest in meaning, in other sessions,
    the newer giving another name where the older gives one, no marker of change. A newer
    giving no name is no telling by the slot; alone with the older on their subject among
    the hits it is a plain later telling, and with a third caravan statement near both it
    replaces nothing."""
    query = "Where is the user's caravan?"
    vectors = [_unit(1, 0, 0), _unit(0.47, 0.883, 0), _unit(0, 0, 1)]
    older = "Our static caravan is on the Sandy Bay site in Northumberland."
    named = "Back from the caravan. Our pitch at the Perranporth site looks over the dunes."
    nameless = "Back from the caravan. Our pitch at the site looks over the dunes."
    third = "The neighbours painted their fence blue."
    for newer, by_slot in ((named, True), (nameless, False)):
        reading = _reading([older, newer, third], vectors, [0.55, 0.4, 0.1], query,
                           sessions=["a", "b", "c"])
        pair = Pair(reading, 0, 1)
        assert pair.follows, newer
        assert pair.by_slot_or_telling is by_slot and pair.replaces, newer
    # a third statement on the caravan, near both: the nameless one is no plain telling
    crowded = [*vectors[:2], _unit(0.5, 0.5, 0.707)]
    reading = _reading([older, nameless, "The caravan needs a new awning this year."],
                       crowded, [0.55, 0.4, 0.3], query, sessions=["a", "b", "c"])
    pair = Pair(reading, 0, 1)
    assert not pair.by_slot_or_telling and not pair.plain_telling and not pair.replaces


def test_a_later_telling_naming_the_older_value_is_about_it_whatever_the_question_names(
) -> None:
    """"What costume is the user wearing to the Halloween do?" names Halloween, which
    only "I'm going to the Halloween party as Beetlejuice, already got the suit" says; the
    later "Ditched Beetlejuice. I'm going as Marge Simpson" names its value and tells a
    change: it is about the older's subject. Without naming the value it is not."""
    query = "What costume is the user wearing to the Halloween do?"
    older = "I'm going to the Halloween party as Beetlejuice, already got the stripy suit."
    vectors = [_unit(1, 0, 0), _unit(0.6, 0.8, 0), _unit(0, 0, 1)]
    for newer, about in (
            ("Ditched Beetlejuice, too many doing it. I'm going as Marge Simpson.", True),
            ("Ditched the stripy suit, too many doing it. I'm going as Marge Simpson.",
             False)):
        reading = _reading([older, newer, "The neighbours painted their fence blue."],
                           vectors, [0.55, 0.4, 0.1], query,
                           query_terms=frozenset({"halloween"}), sessions=["a", "b", "c"])
        pair = Pair(reading, 0, 1)
        assert pair.follows and pair.changed and not pair.after_state, newer
        assert pair.asks_older is not about, newer


def test_a_correction_is_about_the_older_whatever_the_question_names() -> None:
    """"Which town on the Big Island is Leilani staying in?" names the Big Island, which
    only "Made it to the Big Island! I'm staying in Hilo" says; a later correction ("I have
    to correct myself, I'm in Kona, not Hilo") is about the older whatever it names. A
    later statement with no correction and no value named stays apart."""
    query = "Which town on the Big Island is Leilani staying in?"
    older = "Made it to the Big Island! I'm staying in Hilo for the next few months."
    vectors = [_unit(1, 0, 0), _unit(0.7, 0.714, 0), _unit(0, 0, 1)]
    for newer, about in (
            ("Actually I have to correct myself, I'm in Kona. The rental fell through.", True),
            ("Sorry, I got that wrong: it's Kona. The rental fell through.", True),
            ("Loving Kona, the rental is right by the beach.", False)):
        reading = _reading([older, newer, "The neighbours painted their fence blue."],
                           vectors, [0.55, 0.4, 0.1], query,
                           query_terms=frozenset({"big", "island", "leilani"}),
                           sessions=["a", "b", "c"])
        pair = Pair(reading, 0, 1)
        assert pair.asks_older is not about, newer


def test_a_time_moved_enters_for_a_when_question_without_the_questions_words() -> None:
    """"When do I pitch on stage for the accelerator?": the newer "The accelerator pushed
    Demo Day back to 2 April" holds little of the question, but it tells the older's time
    moved and another time, each the other's nearest in meaning: it enters and replaces.
    "Moved my DELE B2 to the 23 November sitting" tells a moved time too (three words
    between the verb and "to")."""
    vectors = [_unit(1, 0, 0), _unit(0.48, 0.877, 0), _unit(0, 0, 1)]
    for query, older, newer in (
            ("When do I pitch on stage for the accelerator?",
             "Demo Day for the accelerator is on 14 March and I get four minutes on stage.",
             "The accelerator pushed Demo Day back to 2 April because the venue fell through."),
            ("When is my Spanish exam?",
             "I've booked my DELE B2 for 18 May at the Instituto Cervantes.",
             "Moved my DELE B2 to the 23 November sitting, the May one clashed.")):
        reading = _reading([older, newer, "The weather was lovely today."], vectors,
                           [0.6, 0.3, 0.1], query, marked=True, sessions=["a", "b", "c"])
        pair = Pair(reading, 0, 1)
        assert pair.moves_time and pair.enters and pair.replaces, newer
    # no time moved ("Demo Day was great fun on 2 April"): nothing enters by it
    plain = _reading(["Demo Day for the accelerator is on 14 March.",
                      "Loved the accelerator's Demo Day on 2 April, great crowd.",
                      "The weather was lovely today."], vectors, [0.6, 0.3, 0.1],
                     "When do I pitch on stage for the accelerator?", marked=True,
                     sessions=["a", "b", "c"])
    assert not Pair(plain, 0, 1).moves_time


def test_a_later_telling_of_a_change_may_be_a_little_further_in_meaning() -> None:
    """"Stripe handles our subscriptions" / "We moved billing over to Paddle last month"
    (cosine .31): each the other's nearest in meaning, in other sessions, the newer telling
    a change, it follows at ``TOLD_MEANING``; with no change told it does not."""
    query = "Which company processes the user's subscription payments?"
    vectors = [_unit(1, 0, 0), _unit(0.31, 0.951, 0), _unit(0, 0, 1)]
    older = "Stripe handles our subscriptions. Can you help me set up dunning emails?"
    for newer, follows in (
            ("We moved billing over to Paddle last month so they deal with the VAT.", True),
            ("Paddle sent a nice newsletter about billing and the VAT.", False)):
        reading = _reading([older, newer, "The weather was lovely today."], vectors,
                           [0.5, 0.2, 0.1], query, sessions=["a", "b", "c"])
        assert Pair(reading, 0, 1).follows is follows, newer


def test_a_later_telling_of_a_change_with_another_number_may_be_further_still() -> None:
    """A later telling that gives another number and tells a change, both, follows at
    ``TOLD_BOTH`` (.25): "Our sprints run two weeks" / "Now that the team has moved to
    three-week cycles" (cosine .27); "I play off 24 at my club" / "my index dropped to
    16.2" (.29). With one of the two alone it needs ``TOLD_MEANING`` (.3)."""
    vectors = [_unit(1, 0, 0), _unit(0.27, 0.963, 0), _unit(0, 0, 1)]
    small = "The weather was lovely today."
    for query, older, newer, follows in (
            ("How long are our sprints these days?",
             "Our sprints run two weeks with planning every other Monday.",
             "Now that the team has moved to three-week cycles, retros come round less.",
             True),
            ("What is my golf handicap?",
             "I play off 24 at my club, can you suggest some short game drills?",
             "Shot a 79 in the Saturday medal and my index dropped to 16.2, buzzing.", True),
            ("How many hours a week does Mia work?",
             "Mia works 30 hours a week at the library.",
             "Mia switched to four days, so 32 hours now.", True),
            # another number, no change told
            ("How long are our sprints these days?",
             "Our sprints run two weeks with planning every other Monday.",
             "The retro for the three-week project ran long.", False),
            # a change told, no other number
            ("Which gym is Tom a member of?", "Tom goes to PureGym on Fridays.",
             "Tom switched to the leisure centre pool instead.", False),
    ):
        reading = _reading([older, newer, small], vectors, [0.5, 0.2, 0.1], query,
                           sessions=["a", "b", "c"])
        assert Pair(reading, 0, 1).follows is follows, newer


def test_the_only_two_statements_on_a_subject_are_a_plain_later_telling() -> None:
    """"we lint with ESLint and format with Prettier" / "after we ripped out eslint and
    prettier, biome check runs over the whole repo" (cosine .3): in other sessions, each
    the other's nearest in meaning, standing well apart from every other hit, the older
    answering the question. The newer replaces the older with no marker and no word of
    the question."""
    query = "What tool keeps our code linted and formatted?"
    older = "we lint the monorepo with ESLint and format with Prettier, CI takes ages."
    newer = "after we ripped out eslint and prettier, biome check runs over the whole repo."
    small = "The neighbours painted their fence blue."
    alone = [_unit(1, 0, 0), _unit(0.3, 0.954, 0), _unit(0, 0, 1)]
    reading = _reading([older, newer, small], alone, [0.5, 0.2, 0.1], query,
                       sessions=["a", "b", "c"])
    pair = Pair(reading, 0, 1)
    assert pair.plain_telling and pair.enters and pair.replaces
    assert not Pair(reading, 0, 2).replaces  # the fence is on no subject of the question
    # not in one session, not with only the two of them read, not below FOLLOW_FAR (.25)
    assert not Pair(_reading([older, newer, small], alone, [0.5, 0.2, 0.1], query,
                             sessions=["a", "a", "c"]), 0, 1).plain_telling
    assert not Pair(_reading([older, newer], alone[:2], [0.5, 0.2], query,
                             sessions=["a", "b"]), 0, 1).plain_telling
    far = [_unit(1, 0, 0), _unit(0.2, 0.98, 0), _unit(0, 0, 1)]
    assert not Pair(_reading([older, newer, small], far, [0.5, 0.2, 0.1], query,
                             sessions=["a", "b", "c"]), 0, 1).plain_telling
    # a third statement near both: they are not the only two on their subject
    crowded = [_unit(1, 0, 0), _unit(0.3, 0.954, 0), _unit(0.6, 0.6, 0.529)]
    assert not Pair(_reading([older, newer, "Prettier and ESLint disagree on semicolons."],
                             crowded, [0.5, 0.2, 0.3], query, sessions=["a", "b", "c"]),
                    0, 1).plain_telling


def test_a_far_plain_telling_gives_what_the_question_asks_for() -> None:
    """Below ``FOLLOW_PLAIN`` (.55) a plain later telling must give a number for a "How
    many ...?" question and another time for a "When ...?" one."""
    small = "The neighbours painted their fence blue."
    vectors = [_unit(1, 0, 0), _unit(0.35, 0.937, 0), _unit(0, 0, 1)]
    count = "How many vinyl albums does the user own?"
    older = "My record collection is up to 140 LPs."
    for newer, told in (("Picked up a few at the record fair.", False),
                        ("Picked up loads at the record fair, I'm at 212 now.", True)):
        reading = _reading([older, newer, small], vectors, [0.5, 0.25, 0.1], count,
                           sessions=["a", "b", "c"])
        assert Pair(reading, 0, 1).plain_telling is told, newer
    when = "When is the v3 code freeze?"
    older = "code freeze for the v3 release is 1 May, help me list what must land."
    for newer, told in (("PM pushed the v3 code freeze to 22 May because of the auth rework.",
                         True),
                        ("the v3 code freeze on 1 May is going to be brutal.", False)):
        reading = _reading([older, newer, small], vectors, [0.5, 0.4, 0.1], when,
                           sessions=["a", "b", "c"], marked=True)
        assert Pair(reading, 0, 1).plain_telling is told, newer


def test_two_statements_opening_on_one_thing_of_the_owners() -> None:
    """Session 48: "My side project repo lives on GitHub" / "My side project has moved to
    Codeberg" open on one thing named in the same two words; "My sister lives in Leeds" /
    "My sister's dog ..." or "My car is red" / "My bike ..." do not."""
    from engram.retrieval.pairs import same_opening

    assert same_opening("My side project repo lives on GitHub.",
                        "my side project has moved to Codeberg")
    assert same_opening("Our kanban board has a WIP limit of 3", "Our kanban board allows 5")
    assert not same_opening("My sister lives in Leeds", "My sister's dog is ill")
    assert not same_opening("My car is red", "My bike is blue")
    assert not same_opening("The side project is on GitHub", "The side project moved")


def test_a_number_a_noun_measures_is_counted_in_that_noun() -> None:
    """Session 48: "a WIP limit of 3" / "a limit of 5 cards" give two numbers of one
    limit; "a group of 4 of us" counts nothing in "group"."""
    from engram.retrieval.slots import recounts

    assert recounts("Our board has a WIP limit of 3 on In Progress",
                     "we bumped in-progress to a limit of 5 cards")
    assert recounts("I'm on a dose of 50mg", "the GP put me on a dose of 75mg")
    assert not recounts("a group of 4 of us went", "a group of 6 people")
    assert not recounts("a limit of 3", "a limit of 3 cards")


def test_the_subject_of_a_statement_about_a_thing_of_the_owners() -> None:
    """Session 48 (:attr:`Pair.other_subject`): "My favourite film", "Our mobile
    contracts", a memory's "The user's favourite book"; none for "I drive a Volvo"."""
    from engram.retrieval.pairs import subject_of

    assert subject_of("My favourite film is Inception.") == "My favourite film"
    assert subject_of("Our mobile contracts are with Vodafone.") == "Our mobile contracts"
    assert subject_of("The user's favourite book is The Hobbit") == "The user's favourite book"
    assert subject_of("My new car is a Subaru") == "My new car"
    assert subject_of("I drive a Volvo") is None


def test_a_temperature_written_with_its_degree_sign_counts_in_degrees() -> None:
    """Session 52: "a 45°C flow temperature" / "dropped the flow temp to 38 degrees"."""
    from engram.retrieval.slots import recounts

    assert recounts("Our heat pump runs at a 45°C flow temperature",
                    "the engineer dropped the flow temp to 38 degrees")
    assert recounts("the thermostat is on 21 °C", "I turned the thermostat down to 19°")
    assert not recounts("it was 30°C in Rome", "it was 30 degrees in Rome")


def test_a_shared_word_of_time_puts_two_statements_on_no_one_subject() -> None:
    """Session 52: a stated change that does not answer the question inherits nothing from a
    statement that shares only a word of time with it ("a 2000-piece Starry Night jigsaw" /
    "I tried a new pasta recipe last night"); a shared word of the thing still links them."""
    query = "Which jigsaw is Catalina working on at the moment?"
    far = [_unit(1, 0), _unit(0.2, 0.98)]  # cosine .2: not close in meaning
    night = _reading(["Halfway through a 2000-piece Starry Night jigsaw.",
                      "I tried a new pasta recipe last night."], far, [0.6, 0.1], query,
                     sessions=["a", "b"])
    assert Pair(night, 0, 1).inherits and not Pair(night, 0, 1).inherited_change
    thing = _reading(["Halfway through a 2000-piece Starry Night puzzle.",
                      "Started a new 3000-piece puzzle last night."], far, [0.6, 0.1], query,
                     sessions=["a", "b"])
    assert Pair(thing, 0, 1).inherited_change
