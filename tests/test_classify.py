"""Classification per decree: real title forms, hard negatives, damaged text, time limits."""

from __future__ import annotations

import pytest

from attrap.classify import load_rules, normalize_for_matching
from attrap.errors import ClassifyError, ConfigError
from attrap.model import Decree, Page
from attrap.split import split_decrees
from tests.conftest import ROOT
from tests.pdfgen import recueil_pages

RULES = load_rules()


def _classify(*page_texts: str, title: str = "", method: str = "text"):
    pages = [Page(n, t, method=method) for n, t in enumerate(page_texts, start=1)]
    return RULES.classify(Decree(title=title, first_page=1, last_page=len(pages), pages=pages))


def test_each_decree_of_a_recueil_gets_its_own_categories():
    decrees = split_decrees([Page(n, t) for n, t in enumerate(recueil_pages(), start=1)])
    got = [RULES.classify(d).categories for d in decrees]
    assert got == [["drone"], [], ["videoprotection"], []]


def test_match_points_at_the_page_and_holds_the_words():
    cd = _classify(
        "PRÉFET DES BOUCHES-DU-RHÔNE\nArrêté n° 12 portant fermeture de route\nVu le code ;",
        "Annexe\nArticle 3 : La captation, l'enregistrement et la transmission d'images au moyen de "
        "caméras installées sur des aéronefs sont autorisés du 15 octobre 2026",
    )
    assert cd.categories == ["drone"]
    (m,) = cd.matches
    assert m.rule == "drone-article-authorised" and m.page == 2
    assert "caméras installées sur des aéronefs sont autorisés" in m.excerpt


@pytest.mark.parametrize(
    "title",
    [
        "ARRÊTÉ AUTORISANT LA CAPTATION, L□ENREGISTREMENT ET LA TRANSMISSION D□IMAGES AU MOYEN DE "
        "CAMÉRAS INSTALLÉES SUR DES AÉRONEFS",
        "Arrete portant autorisation de la captation, de l'enregistrement et de la transmission\n"
        "d'images au moyen de cameras installees sur des\naeronefs",
        "Arrêté autorisant la\ncaptation d\ufffdimages au moyen de caméras installées sur des aéronefs",
    ],
)
def test_drone_titles_survive_layout_and_encoding_damage(title):
    assert _classify(title + "\nVu le code de la sécurité intérieure ;").categories == ["drone"]


def test_words_split_by_stray_spaces_are_read_whole():
    cd = _classify(
        "Arrêté autorisant la capt ation, l'enregistrement et la tra nsmission d'images au moyen de "
        "caméras insta llées sur des aéro nefs\nVu le code de la sécurité intérieure ;"
    )
    assert cd.categories == ["drone"]
    # the excerpt is the original text, damage included
    assert "tra nsmission" in cd.matches[0].excerpt or "capt ation" in cd.matches[0].excerpt


OCR_DRONE = (
    "Arrêté n° 2024-0O512 autorisant la captat1on, l'enreg1strement et la transmlssion d'lmages au\n"
    "moyen de carneras instal1ées sur des aéronels\nVu le code de la sécurité intérieure ;\nARRÊTE\n"
    "Article 1er : La direction est autorlsée à procéder à la captatlon d'images au moyen de caméras "
    "installées sur des aéronefs."
)


def test_ocr_misreads_are_matched_on_ocr_pages_only():
    cd = _classify(OCR_DRONE, method="ocr")
    assert cd.categories == ["drone"]
    assert {m.rule for m in cd.matches} >= {"drone-title-authorisation"}
    # the same damage in a text layer is not corrected: fuzzy reading is for OCR'd pages
    assert "drone-title-authorisation" not in {m.rule for m in _classify(OCR_DRONE).matches}


@pytest.mark.parametrize(
    "text",
    [
        "Arrêté portant interdictlon temporaire de vol d'aéronefs circulant sans personne à bord\n"
        "Vu le code de la sécurité intérieure ;\nARRÊTE\nArticle 1er : seule la captatlon d'images par "
        "les services de l'État au moyen de caméras installées sur des aéronefs est autorisée.",
        "Arrêté portant attribution d'une subventlon pour l'acquisltion de caméras installées sur des "
        "aéronefs\nVu le code ;",
    ],
)
def test_ocr_misreads_do_not_defeat_exclusions(text):
    assert _classify(text, method="ocr").categories == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "autorité" is one edit from "autorisé": read as it, the AVS title rule fired
        (
            "Arrêté fixant la composition du comité placé auprès de l'autorité préfectorale pour "
            "l'évaluation des traitements algorithmiques d'images\nLe préfet,\nVu la loi n° 2023-380 du "
            "19 mai 2023 ;\nArrête :\nArticle 1er : Le comité est composé comme suit.",
            [],
        ),
        # "dérogation" is two edits from "abrogation": read as it, an exclusion dropped the decree
        (
            "Arrêté portant autorisation, par dérogation, d'un système de vidéoprotection\nLe préfet,\n"
            "Vu le code de la sécurité intérieure ;\nArrête :\nArticle 1er : Monsieur le maire est "
            "autorisé à installer le système.",
            ["videoprotection"],
        ),
    ],
)
def test_ocr_reading_leaves_french_words_as_they_are(text, expected):
    assert _classify(text).categories == expected
    assert _classify(text, method="ocr").categories == expected


def test_ocr_repair_keeps_french_words_one_edit_from_rule_words():
    """ "autorité" (one edit from "autorisé") and "reçus" (one from "refus") are words."""
    assert (
        RULES.vocabulary.repair(normalize_for_matching("autorite reçus"), fuzzy=True)[0] == "autorite recus"
    )


def test_an_ocr_word_is_read_as_the_nearest_vocabulary_word_when_an_expression_looks_for_it():
    """Every word of the OCR'd corpus and misreadings of every vocabulary word (a letter
    replaced, dropped, doubled) are read as a search of the whole vocabulary says: the nearest
    word within one edit (two from nine letters), the first by length then alphabet among the
    nearest, and only when an expression may look for it ("mettro" is as near "mettre", which
    an expression looks for, as "metro", which none does and which comes first: it stays)."""
    import regex

    from attrap.classify import MIN_REPAIR, french_words

    vocabulary = RULES.vocabulary
    by_place = sorted(vocabulary.words, key=lambda w: (len(w), w))

    def nearest(token: str) -> str:
        if len(token) < MIN_REPAIR or token in vocabulary.words or token in french_words():
            return token
        k = 1 if len(token) < 9 else 2
        best, best_cost = token, k + 1
        for word in by_place:
            if abs(len(word) - len(token)) > k or (word[0] != token[0] and word[-1] != token[-1]):
                continue
            m = regex.fullmatch(f"(?:{word}){{e<={2 if len(word) >= 9 else 1}}}", token)
            if m is not None and sum(m.fuzzy_counts) < best_cost:
                best, best_cost = word, sum(m.fuzzy_counts)
        return best if best in vocabulary.relevant else token

    tokens = set()
    for path in (ROOT / "fixtures" / "corpus" / "ocr").glob("*.txt"):
        tokens |= set(regex.findall(r"[a-z]{5,}", normalize_for_matching(path.read_text(encoding="utf-8"))))
    for w in vocabulary.words:
        for i in range(1, len(w)):
            tokens |= {w[:i] + "x" + w[i + 1 :], w[:i] + w[i + 1 :], w[:i] + w[i] + w[i:]}
    assert "mettro" in tokens and nearest("mettro") == "mettro" and nearest("captatxon") == "captation"
    read = {t: vocabulary.repair(t, fuzzy=True)[0] for t in sorted(tokens)}
    assert read == {t: nearest(t) for t in sorted(tokens)}


def test_avs_authorisation():
    cd = _classify(
        "Arrêté n° 13-2025-12-01-00002 portant autorisation de l'emploi à titre expérimental d'un "
        "traitement algorithmique des images collectées au moyen de systèmes de vidéoprotection\n"
        "Vu la loi n° 2023-380 du 19 mai 2023, notamment son article 10 ;"
    )
    assert cd.categories == ["avs"]


@pytest.mark.parametrize(
    "text",
    [
        "Arrêté portant interdiction temporaire de vol d'aéronefs circulant sans personne à bord\n"
        "Vu le code de la sécurité intérieure, notamment son article L. 242-5 ;\nARRÊTE\n"
        "Article 1er : le vol des drones de loisir est interdit.",
        "Arrêté portant attribution d'une subvention au titre du fonds interministériel de prévention "
        "de la délinquance (FIPD) pour l'installation de caméras de vidéoprotection\nVu ... ;",
        "Arrêté portant délégation de signature\nVu le code de la sécurité intérieure, notamment ses "
        "articles L. 242-1 à L. 242-8 relatifs aux caméras installées sur des aéronefs ;",
        "Ordre du jour de la commission départementale de vidéoprotection : systèmes de vidéoprotection, "
        "drones, traitement algorithmique.",
    ],
)
def test_hard_negatives_are_not_flagged(text):
    assert _classify(text).categories == []


def test_folding_keeps_positions():
    text = "Arrêté AUTORISANT l’ÉNREGISTREMENT\n\td’images"
    folded = normalize_for_matching(text)
    assert len(folded) == len(text)
    assert folded == "arrete autorisant l'enregistrement  d'images"


@pytest.mark.timeout(30)
def test_a_catastrophic_pattern_times_out_instead_of_hanging(tmp_path, monkeypatch):
    import attrap.classify as classify

    monkeypatch.setattr(classify, "PATTERN_TIMEOUT", 0.2)
    (tmp_path / "categories.toml").write_text('[[category]]\nid = "x"\nlabel = "X"\n')
    (tmp_path / "x.toml").write_text(
        '[[rule]]\nid = "slow"\ncategory = "x"\nany = ["re:(a|aa)+$"]\n', encoding="utf-8"
    )
    rules = classify.load_rules(tmp_path)
    page = Page(1, "a" * 60 + "b")
    with pytest.raises(ClassifyError, match="slow"):
        rules.classify(Decree("t", 1, 1, [page]))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[rule]]\nid = "r1"\ncategory = "nope"\nany = ["x"]\n', "unknown category 'nope'"),
        ('[[rule]]\ncategory = "x"\nany = ["x"]\n', "a rule has no id"),
        ('[[rule]]\nid = "r1"\ncategory = "x"\nany = ["re:(unclosed"]\n', "bad expression"),
        ('[[rule]]\nid = "r1"\ncategory = "x"\nany = ["x"]\nanyy = 1\n', "unknown key"),
        (
            '[[rule]]\nid = "r1"\ncategory = "x"\nany = ["chat"]\nmust_match = ["chien"]\n',
            "must_match example fails",
        ),
        (
            '[[rule]]\nid = "r1"\ncategory = "x"\nany = ["chat"]\nmust_not_match = ["le chat"]\n',
            "must_not_match",
        ),
        (
            '[[rule]]\nid = "r1"\ncategory = "x"\nany = ["a"]\n[[rule]]\nid = "r1"\ncategory = "x"\nany = ["b"]\n',
            "duplicate id",
        ),
        ("[[rule]\n", "not valid TOML"),
    ],
)
def test_a_malformed_rule_file_names_file_rule_and_reason(tmp_path, content, message):
    (tmp_path / "categories.toml").write_text('[[category]]\nid = "x"\nlabel = "X"\n')
    (tmp_path / "bad.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(tmp_path)
    assert "bad.toml" in str(err.value) and message in str(err.value)
    if "id" in content and "no id" not in message and "TOML" not in message:
        assert "'r1'" in str(err.value)


def test_fast_folding_is_the_character_table():
    """Folding through Latin-1 or cp1252 bytes gives what the per-character table gives, for
    every character of either and for text outside both (or holding "µ", which folds outside
    them), and the bytes a fold hands to the scans are its text's."""
    import attrap.classify as classify

    cp1252 = []
    for b in range(256):
        try:
            cp1252.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            pass
    latin1 = "".join(chr(b) for b in range(256) if chr(b) != "µ")
    texts = ["".join(cp1252), latin1, "Arrêté n° 12 « ÉTÉ » Ç", "Arrêté ŒUVRE « ÉTÉ » – 5 µm"]
    texts += ["Ω aéronefs ’ ʼ □ \ufffd", "x\u00a0y\tz", "l’arrêté d‘un", "l’œuvre d‘un", "dʼun l’été Ω"]
    for text in texts:
        folded = classify.fold(text)
        assert folded.text == normalize_for_matching(text) == text.translate(classify._FOLD)
        assert folded.data.decode(folded.encoding, "surrogatepass") == folded.text
        assert folded.single == (len(folded.data) == len(folded.text))
    # typographic apostrophes and OCR's "‘" fold to "'": Latin-1 then holds the text
    assert [classify.fold(t).encoding for t in ("é « »", "l’été d‘un dʼun", "l’œuvre", "µ")] == [
        "latin-1", "latin-1", "cp1252", "utf-8",
    ]  # fmt: skip
    # word boundaries follow each encoding: byte 0x9c is "œ" (a letter) in cp1252, a control in Latin-1
    latin1, cp = classify.fold("capta tion\x9c"), classify.fold("capta tion\u0153’")
    assert (latin1.encoding, cp.encoding) == ("latin-1", "cp1252")
    assert latin1.whole_word(0, 10) and not cp.whole_word(0, 10)


def test_one_pass_finds_every_literal_the_rules_need_and_where_it_first_ends():
    """The Aho-Corasick pass (overlapping literals such as "autoris" in "autorisation"
    included) finds exactly what a substring test per literal finds, on every corpus text."""
    import attrap.classify as classify

    scan = RULES._scan
    literals = {lit for rule in RULES.rules for lit in rule.literals}
    assert {"autoris", "autorisation", "captation", "algorithmique"} <= literals
    checked = 0
    for path in (ROOT / "fixtures" / "corpus").rglob("*.txt"):
        folded = classify.fold(path.read_text(encoding="utf-8"))
        first, _ = scan(folded)
        expected = {lit for lit in literals if lit in folded.text}
        assert set(first) == expected == scan.literals(folded.data), path.name
        if folded.single:
            assert all(first[lit] == folded.text.index(lit) + len(lit) for lit in expected)
            checked += 1
    assert checked > 50


def test_a_literal_only_in_a_word_the_ocr_repair_wrote_is_still_searched():
    """ "captatlon" holds no literal "captation": the repair writes it, and the rules that need
    it are searched, in the title scope and in the whole text."""
    in_title = _classify(
        "Arrêté n° 2026-0042 autorisant la captatlon, l'enregistrement et la transmission "
        "d'images au moyen de drones\nVu le code de la sécurité intérieure ;",
        method="ocr",
    )
    in_article = _classify(
        "Arrêté n° 2026-0043 relatif à la sécurité du festival\nVu le code de la sécurité intérieure ;\n"
        "Article 1er : La direction départementale de la police nationale est autorisée à procéder "
        "à la captatlon d'images au moyen de caméras installées sur des aéronefs.",
        method="ocr",
    )
    assert [m.rule for m in in_title.matches] == ["drone-title-authorisation"]
    assert [m.rule for m in in_article.matches] == ["drone-article-authorised"]


DAMAGED = (
    "Arrêté autorisant la capt ation, l'enregistrement et la tra nsmission d'images au moyen de "
    "carneras instal1ées sur des aéronels ; la captat1on est autorlsée. Fin."
)


@pytest.mark.parametrize("fuzzy", [False, True])
def test_repair_positions_point_into_the_original(fuzzy):
    import bisect

    folded = normalize_for_matching(DAMAGED)
    repaired, where = RULES.vocabulary.repair(folded, fuzzy=fuzzy)
    assert "captation, l'enregistrement et la transmission" in repaired
    assert ("installees sur des aeronefs" in repaired) is fuzzy
    positions = [where[i] for i in range(len(where))]
    assert len(positions) == len(repaired) + 1 and positions[-1] == len(DAMAGED)
    assert positions == sorted(positions)
    for original in range(len(DAMAGED) + 1):
        assert where.index(original) == bisect.bisect_left(positions, original)
    i = repaired.index("transmission")
    assert DAMAGED[where[i] : where[i + len("transmission")]] == "tra nsmission"


def test_ocr_readings_are_remembered_and_give_the_same_text():
    text = normalize_for_matching(DAMAGED)
    first = RULES.vocabulary.repair(text, fuzzy=True)[0]
    assert RULES.vocabulary.repair(text, fuzzy=True)[0] == first
    assert "captation est autorisee" in first


def test_the_words_remembered_are_bounded_and_forgetting_them_changes_no_reading(monkeypatch):
    """A long run remembers at most READINGS_KEPT words (French words included) and then starts
    afresh: the readings are those of a rule set that never forgets."""
    import attrap.classify as classify

    texts = [normalize_for_matching(t) for t in (DAMAGED, *(p.read_text(encoding="utf-8") for p in
             sorted((ROOT / "fixtures" / "corpus" / "ocr").glob("drone-*.txt"))[:6]))]  # fmt: skip
    expected = [load_rules().vocabulary.repair(t, fuzzy=True)[0] for t in texts]
    monkeypatch.setattr(classify, "READINGS_KEPT", 60)
    vocabulary = load_rules().vocabulary
    for _ in range(3):
        assert [vocabulary.repair(t, fuzzy=True)[0] for t in texts] == expected
        assert len(vocabulary._read) <= max(60, *(len(t.split()) for t in texts))


def test_a_pattern_with_capitals_still_ignores_case(tmp_path):
    (tmp_path / "categories.toml").write_text('[[category]]\nid = "x"\nlabel = "X"\n')
    (tmp_path / "x.toml").write_text(
        '[[rule]]\nid = "caps"\ncategory = "x"\nany = ["re:CAPTATION\\\\s+D\\\\W?IMAGES"]\n'
        'must_match = ["LA CAPTATION D\'IMAGES"]\n',
        encoding="utf-8",
    )
    rules = load_rules(tmp_path)
    assert rules.classify(Decree("t", 1, 1, [Page(1, "la captation d'images")])).categories == ["x"]


def test_cctv_authorisation_is_read_in_the_article_when_ocr_garbles_the_title():
    cd = _classify(
        "Arrêté préfectoral portant modification d'un système de open autorisé\n"
        "Vu le code de la sécurité intérieure ;\nARRÊTE\n"
        "Article ler : Le directeur du supermarché est autorisé à modifier le\n"
        "système de vidéoprotection précédemment autorisé.",
        method="ocr",
    )
    assert cd.categories == ["videoprotection"]
    assert {m.rule for m in cd.matches} == {"videoprotection-article-authorised"}


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"autoris\w*\b.{0,250}?traitements?\s+algorithmiques?", {"autoris", "traitement", "algorithmique"}),
        (r"(?<=\b(?:est|sont)\s+)autorise\w*\s[^;]{0,200}?captation", {"autorise", "captation"}),
        (r"(?<=captation[^;]{0,20}?)autorise", {"captation", "autorise"}),  # a look-behind must hold
        (r"aeronef|drone", set()),  # either side may match
        (r"(?:de\s+)?captation", {"captation"}),  # an optional group requires nothing
        (r"(?!interdit)autorise", {"autorise"}),  # nor a negative look-ahead
        (r"(?i)captation", set()),  # case-insensitive: unsure
        (r"camera[sx]\s+installees?", {"camera", "installee"}),
        (r"abc\x41def", {"abc"}),  # an escape's argument is not a literal
        (r"\bsubvention\b", {"subvention"}),
    ],
)
def test_required_literals_are_what_every_match_holds(pattern, literals):
    import regex

    from attrap.classify import required_literals

    assert set(required_literals(regex.compile(pattern, regex.V1))) == literals


@pytest.mark.parametrize(
    ("pattern", "choices"),
    [
        (r"\b(?:est|sont)\s+(?:renouvele|modifie|prorog)\w*", [{"renouvele", "modifie", "prorog"}]),
        (r"captation[^;]{0,200}?(?:aeronefs?|helicopteres?)", [{"aeronef", "helicoptere"}]),
        (r"aeronef|drone", [{"aeronef", "drone"}]),  # one side or the other
        (r"(?<=\b(?:est|sont)\s+)autorise", []),  # words too short to be worth a test
        (r"(?:captation|de\s+)images", []),  # an alternative needs no literal: no choice
        (r"(?:de\s+(?:captation|transmission))?\s+images", []),  # an optional group: none
        (r"(?:la\s+captation|l\W?enregistrement)", [{"captation", "enregistrement"}]),
        (r"(?:[|]captation|video\|protection)", [{"captation", "protection"}]),  # not alternations
    ],
)
def test_required_choices_are_the_alternations_every_match_goes_through(pattern, choices):
    import regex

    from attrap.classify import required_choices

    assert [set(c) for c in required_choices(regex.compile(pattern, regex.V1))] == choices


def test_an_expression_is_not_searched_without_one_of_its_choices():
    """A text that holds none of an alternation's words is not searched for the expression
    (the literals said present are trusted: that is what spares the search), and one that holds
    one is."""
    from attrap.classify import Rule, compile_expression

    rule = Rule(
        "r", "videoprotection", "", "text",
        [compile_expression(r"re:\bautorisation\b[^;]{0,40}?\b(?:est|sont)\s+(?:renouvele|prorog)\w*")],
    )  # fmt: skip
    text = normalize_for_matching("L'autorisation du système est prorogée d'un an")
    assert rule.find(text) is not None
    assert rule.find(text, present=frozenset({"autorisation", "prorog"})) is not None
    assert rule.find(text, present=frozenset({"autorisation"})) is None
    assert rule.gate == frozenset({"autorisation"})
    assert {"renouvele", "prorog"} <= rule.literals  # the scan looks for each


def test_an_exclusion_of_plain_alternatives_holds_through_the_scan(tmp_path):
    """An exclusion written as words between "|" is decided by substring tests, yet its words
    gate it: the one-pass scan must look for them, or the exclusion would never apply."""
    (tmp_path / "categories.toml").write_text('[[category]]\nid = "x"\nlabel = "X"\n')
    (tmp_path / "x.toml").write_text(
        '[[rule]]\nid = "r"\ncategory = "x"\nany = ["captation"]\nexclude = ["re:interdiction|abrogation"]\n',
        encoding="utf-8",
    )
    rules = load_rules(tmp_path)
    for text, categories in [("autorisant la captation", ["x"]), ("abrogation de la captation", [])]:
        decree = Decree(title="", first_page=1, last_page=1, pages=[Page(1, f"Arrêté {text} d'images")])
        assert rules.classify(decree).categories == categories, text


def test_no_expression_is_skipped_where_it_would_match():
    """The search is skipped when a required literal is missing: over the corpus and the rules'
    own examples, every match of every expression holds all its literals."""
    from pathlib import Path

    from attrap.classify import required_choices, required_literals

    texts = [
        normalize_for_matching(p.read_text(encoding="utf-8")) for p in Path("fixtures/corpus").rglob("*.txt")
    ]
    texts += [RULES._prepare(e) for e in _examples()]
    checked = 0
    for rule in RULES.rules:
        for pattern in (*rule.any, *rule.all, *rule.exclude):
            literals, choices = required_literals(pattern), required_choices(pattern)
            for text in texts:
                if pattern.search(text):
                    checked += 1
                    assert all(lit in text for lit in literals), (rule.id, pattern.pattern)
                    assert all(any(lit in text for lit in c) for c in choices), (rule.id, pattern.pattern)
    assert checked > 100


def _examples() -> list[str]:
    import tomllib

    out = []
    for path in (ROOT / "patterns").glob("*.toml"):
        for rule in tomllib.loads(path.read_text(encoding="utf-8")).get("rule", []):
            out += rule.get("must_match", []) + rule.get("must_not_match", [])
    return out


def test_a_literal_split_by_a_space_is_joined_before_the_literals_are_tested():
    title = "Arrêté n° 7 autorisant la capta tion d'images au moyen de drones par la police nationale"
    cd = _classify(title + "\nVu le code de la sécurité intérieure ;", title=title)
    assert cd.categories == ["drone"]


def test_the_title_scope_ends_at_a_visa_run_into_the_title_line():
    """A text layer that runs the title and the visas into one line: the title scope stops at
    "Vu le code", so the AVS law cited in the next visa is not read as the title's."""
    cd = _classify(
        "Arrêté n° 2026-118 portant autorisation d'un système de vidéoprotection Vu le code de la "
        "sécurité intérieure ; Vu la loi n° 2023-380 du 19 mai 2023, notamment son article 10 autorisant "
        "à titre expérimental l'emploi de traitements algorithmiques ; Vu l'avis de la commission ;\n"
        "ARRÊTE\nArticle 1er : Le gérant du magasin est autorisé à installer un système de "
        "vidéoprotection comportant 4 caméras intérieures.",
        title="Arrêté n° 2026-118 portant autorisation d'un système de vidéoprotection",
    )
    assert cd.categories == ["videoprotection"]
    assert "videoprotection-title-authorisation" in {m.rule for m in cd.matches}


def test_the_title_scope_ends_at_the_first_visa_line():
    """A CCTV authorisation whose visas cite the AVS law ("autorisant … des traitements
    algorithmiques") before any "Vu le code": the title scope stops at the first line that
    begins with "Vu", so no AVS title rule reads the visas."""
    cd = _classify(
        "Arrêté n° 2026-118 portant autorisation d'un système de vidéoprotection\n"
        "Le préfet du Gard,\n"
        "Vu la loi n° 2023-380 du 19 mai 2023, notamment son article 10 autorisant à titre expérimental "
        "l'emploi de traitements algorithmiques ;\n"
        "Vu le décret n° 2023-828 du 28 août 2023 ;\n"
        "Vu la demande présentée par le gérant du magasin « Le Fournil », 12 rue de la République à Nîmes ;\n"
        "Vu l'avis émis par la commission départementale de vidéoprotection lors de sa séance du 2 mars 2026 ;\n"
        "Sur proposition du directeur de cabinet ;\nARRÊTE\n"
        "Article 1er : Le gérant du magasin est autorisé à installer un système de vidéoprotection "
        "comportant 4 caméras intérieures.",
        title="Arrêté n° 2026-118 portant autorisation d'un système de vidéoprotection",
    )
    assert cd.categories == ["videoprotection"]  # before: ["avs"], the CCTV authorisation missed
    assert "videoprotection-title-authorisation" in {m.rule for m in cd.matches}
