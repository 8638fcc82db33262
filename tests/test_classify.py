"""Classification per decree: real title forms, hard negatives, damaged text, time limits."""

from __future__ import annotations

import pytest

from attrap.errors import ClassifyError, ConfigError
from attrap.model import Decree, Page
from attrap.read.split import split_decrees
from attrap.rules.classify import load_rules, normalize_for_matching
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

    from attrap.rules.classify import MIN_REPAIR, french_words

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
    import attrap.rules.classify as classify

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


def test_folding_is_the_project_accent_folding_one_character_for_one():
    """Classification folds with attrap.rules.frdates' folding, character by character: the same
    length, every whitespace a space, every apostrophe (OCR's "‘" included) "'", and a
    character whose folding is longer ("ß", "ﬁ") left as it is."""
    from attrap.rules.frdates import fold

    text = "Arrêté ŒUVRE « ÉTÉ » – 5 µm Ω aéronefs ’ ʼ □ \ufffd x\u00a0y\tz l’arrêté d‘un ß ﬁ ＡÉ"
    folded = normalize_for_matching(text)
    assert len(folded) == len(text)
    for c, f in zip(text, folded, strict=True):
        if c.isspace():
            assert f == " "
        elif c in "’‘ʼ":
            assert f == "'"
        else:
            assert f == (fold(c) if len(fold(c)) == 1 else c.lower() if len(c.lower()) == 1 else c)
    assert folded.startswith("arrete œuvre « ete » – 5 μm ω aeronefs ' ' □")
    assert folded.endswith("l'arrete d'un ß ﬁ ae")


def test_a_word_the_ocr_repair_wrote_is_matched_in_the_title_and_in_the_text():
    """ "captatlon" is read as "captation", which the rules look for, in the title scope and
    in the whole text."""
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
    # "transmission" is a vocabulary word (of an example) that no expression looks for: left split
    assert "captation, l'enregistrement et la tra nsmission" in repaired
    assert ("installees sur des aeronefs" in repaired) is fuzzy
    positions = [where[i] for i in range(len(where))]
    assert len(positions) == len(repaired) + 1 and positions[-1] == len(DAMAGED)
    assert positions == sorted(positions)
    # each original character's place in the repaired text: a word rewritten spans its original
    assert repaired[bisect.bisect_left(where, DAMAGED.index("capt ation")) :].startswith("captation")
    i = repaired.index("captation")
    assert DAMAGED[where[i] : where[i + len("captation")]] == "capt ation"


def test_an_ocr_text_is_read_the_same_whatever_was_read_before():
    texts = [normalize_for_matching(t) for t in (DAMAGED, *(p.read_text(encoding="utf-8") for p in
             sorted((ROOT / "fixtures" / "corpus" / "ocr").glob("drone-*.txt"))[:6]))]  # fmt: skip
    fresh = [load_rules().vocabulary.repair(t, fuzzy=True)[0] for t in texts]
    vocabulary = RULES.vocabulary
    assert [vocabulary.repair(t, fuzzy=True)[0] for t in reversed(texts)] == fresh[::-1]
    assert "captation est autorisee" in fresh[0]


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


def test_an_exclusion_of_plain_alternatives_holds(tmp_path):
    """An exclusion written as words between "|" excludes on either word."""
    (tmp_path / "categories.toml").write_text('[[category]]\nid = "x"\nlabel = "X"\n')
    (tmp_path / "x.toml").write_text(
        '[[rule]]\nid = "r"\ncategory = "x"\nany = ["captation"]\nexclude = ["re:interdiction|abrogation"]\n',
        encoding="utf-8",
    )
    rules = load_rules(tmp_path)
    for text, categories in [("autorisant la captation", ["x"]), ("abrogation de la captation", [])]:
        decree = Decree(title="", first_page=1, last_page=1, pages=[Page(1, f"Arrêté {text} d'images")])
        assert rules.classify(decree).categories == categories, text


def test_a_title_word_split_by_a_space_is_joined():
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
