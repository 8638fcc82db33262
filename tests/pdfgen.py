"""Build small PDFs for tests with fpdf2: one string per page, a Unicode font."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_pdf(
    path: Path, pages: list[str], *, user_password: str | None = None, encryption: str | None = None
) -> Path:
    """Write ``pages`` (one string per page; "" for a blank page, as a scan would be) to ``path``.

    ``user_password`` encrypts the file (``""``: anyone may open it, as many prefectures' PDFs
    are encrypted only to forbid copying); ``encryption`` names fpdf2's EncryptionMethod
    ("RC4", "AES_128", "AES_256"), RC4 by default.
    """
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 10, 14, 8, 0, tzinfo=UTC))
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 5, text)
    if user_password is not None:
        from fpdf.enums import EncryptionMethod

        method = EncryptionMethod[encryption] if encryption else None
        pdf.set_encryption(
            owner_password="owner-secret", user_password=user_password, encryption_method=method
        )
    pdf.output(str(path))
    return path


def recueil_pages() -> list[str]:
    """A realistic 9-page recueil: cover, sommaire, four decrees (one over three pages)."""
    return [
        "RECUEIL DES ACTES ADMINISTRATIFS\nN°13-2026-245\nBOUCHES-DU-RHÔNE\nPUBLIÉ LE 14 OCTOBRE 2026",
        "Sommaire\nPréfecture de police des Bouches-du-Rhône / Cabinet\n"
        "13-2026-10-14-00003 - Arrêté autorisant la captation, l'enregistrement et la transmission "
        "d'images au moyen de caméras installées sur des aéronefs (2 pages) Page 3\n"
        "13-2026-10-14-00004 - Arrêté portant fermeture temporaire de la route départementale 559 "
        "(1 page) Page 5\n"
        "13-2026-10-14-00005 - Arrêté portant autorisation d'un système de vidéoprotection "
        "(3 pages) Page 6\n"
        "13-2026-10-14-00006 - Arrêté portant interdiction temporaire de vol d'aéronefs circulant "
        "sans personne à bord (1 page) Page 9",
        "13-2026-10-14-00003\nPRÉFET DES BOUCHES-DU-RHÔNE\nCabinet\n"
        "Arrêté n° 13-2026-10-14-00003 autorisant la captation, l’enregistrement et la transmission\n"
        "d’images au moyen de caméras installées sur des aéronefs\n"
        "Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 à L. 242-8 ;\n"
        "ARRÊTE\nArticle 1er : La direction interdépartementale de la police nationale est autorisée "
        "à procéder à la captation d'images au moyen de deux aéronefs, stade Orange Vélodrome.",
        "Article 2 : du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00.\n"
        "Fait à Marseille, le 14 octobre 2026\nPour le préfet de police, le directeur de cabinet,\n"
        "Jean DUPONT",
        "13-2026-10-14-00004\nPRÉFET DES BOUCHES-DU-RHÔNE\n"
        "Arrêté n° 13-2026-10-14-00004 portant fermeture temporaire de la route départementale 559\n"
        "Vu le code de la route ;\nARRÊTE\nArticle 1er : la route est fermée.\n"
        "Fait à Marseille, le 1er octobre 2026\nLe préfet,\nMarie MARTIN",
        "13-2026-10-14-00005\nPRÉFET DES BOUCHES-DU-RHÔNE\n"
        "Arrêté n° 13-2026-10-14-00005 portant autorisation d'un système de vidéoprotection\n"
        "Vu le code de la sécurité intérieure, notamment ses articles L. 251-1 à L. 255-1 ;\nARRÊTE",
        "Article 1er : le système de vidéoprotection de la boulangerie est autorisé.",
        "Article 2 : 4 caméras.\nFait à Marseille, le 12/10/2026\nPour le préfet,\nPaul DURAND",
        "13-2026-10-14-00006\nPRÉFET DES BOUCHES-DU-RHÔNE\n"
        "Arrêté n° 13-2026-10-14-00006 portant interdiction temporaire de vol d'aéronefs circulant\n"
        "sans personne à bord au-dessus de Marseille\nVu le code des transports ;\nARRÊTE\n"
        "Article 1er : le vol est interdit.\nFait à Marseille, le 13 octobre 2026\nLe préfet,\nAnne PETIT",
    ]


_SIGN = "Fait à Marseille, le {date}\n{function}\n{name}"


def recueil12_pages(*, sommaire_offset: int = 0, damaged_ids: bool = False) -> list[str]:
    """A 12-page recueil as the "Actes" software makes them.

    Cover (1), a two-page sommaire (2-3) whose entries wrap, then four decrees: pages 4-5,
    6, 7-9 and 10-12. ``sommaire_offset`` shifts every "Page P" of the sommaire down (a
    sommaire that does not count the cover and itself); ``damaged_ids`` garbles its ids the
    way OCR does (O for 0, l for 1, a space inside).
    """
    ids = ["13-2026-10-14-00003", "13-2026-10-13-00017", "13-2026-10-12-00021", "13-2026-10-14-00100"]
    shown = list(ids)
    if damaged_ids:
        shown = [
            "l3-2O26-1O-14-OOOO3",
            "13 - 2026-10-l3-000l7",
            "13-2026-1O-12-0002 1",
            "13-2O26-10-I4-00l00",
        ]

    def at(page: int) -> int:
        return page - sommaire_offset

    sommaire1 = (
        "SOMMAIRE\n"
        "Préfecture de police des Bouches-du-Rhône\nCabinet du préfet de police\n"
        f"{shown[0]} - Arrêté portant autorisation de la captation, de l\u2019enregistrement et de\n"
        "la transmission d\u2019images au moyen de caméras installées sur des aéronefs (2 pages)\n"
        f"Page {at(4)}\n"
        f"{shown[1]} - Arrêté portant fermeture temporaire de la route départementale 559 (1\n"
        f"page) Page {at(6)}"
    )
    sommaire2 = (
        "Direction départementale de la protection des populations\n"
        f"{shown[2]} - Arrêté préfectoral portant mise en demeure de la société Œnologie du Sud\n"
        f"(3 pages) Page {at(7)}\n"
        "Sous-préfecture d\u2019Arles\n"
        f"{shown[3]} - Arrêté portant autorisation d\u2019un système de vidéoprotection (3 pages) "
        f"Page {at(10)}"
    )
    head = "PRÉFET DES BOUCHES-DU-RHÔNE\nLiberté\nÉgalité\nFraternité\n"
    return [
        "RECUEIL DES ACTES ADMINISTRATIFS\nN°13-2026-245\nBOUCHES-DU-RHÔNE\nPUBLIÉ LE 14 OCTOBRE 2026",
        sommaire1,
        sommaire2,
        f"{ids[0]}\n{head}Cabinet\nArrêté n° {ids[0]}\nportant autorisation de la captation, de "
        "l\u2019enregistrement et de la\ntransmission d\u2019images au moyen de caméras installées sur "
        "des\naéronefs\nLe préfet de police des Bouches-du-Rhône,\n"
        "Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 et suivants ;\n"
        "Considérant la rencontre de football du 15 octobre 2026 ;\nARRÊTE\n"
        "Article 1er : La captation d\u2019images au moyen de deux aéronefs est autorisée.",
        "Article 2 : Le présent arrêté est publié au recueil des actes administratifs.\n"
        + _SIGN.format(
            date="14 octobre 2026",
            function="Pour le préfet de police,\nle directeur de cabinet,",
            name="Jean-Marie DUPONT",
        )
        + "\nVoies et délais de recours : deux mois.",
        f"{ids[1]}\n{head}Direction des sécurités\n"
        f"Arrêté n° {ids[1]} portant fermeture temporaire de la route départementale 559\n"
        "Vu le code de la route ;\nARRÊTE\nArticle 1er : la route est fermée.\n"
        + _SIGN.format(date="1er octobre 2026", function="Le préfet,", name="Marie MARTIN"),
        f"{ids[2]}\n{head}Direction départementale de la protection des populations\n"
        f"ARRÊTÉ PRÉFECTORAL n° {ids[2]}\nportant mise en demeure de la société Œnologie du Sud\n"
        "Vu le code de l\u2019environnement ;\nARRÊTE\nArticle 1er : La société est mise en demeure.",
        "Article 2 : Elle dispose d\u2019un délai de trois mois.",
        "Article 3 : Exécution.\n"
        + _SIGN.format(date="12/10/2026", function="Pour le préfet et par délégation,", name="Paul DURAND"),
        f"{ids[3]}\n{head}Sous-préfecture d\u2019Arles\n"
        f"Arrêté n° {ids[3]} portant autorisation d\u2019un système de vidéoprotection\n"
        "Le sous-préfet d\u2019Arles,\nVu le code de la sécurité intérieure ;\nARRÊTE\n"
        "Article 1er : Le système est autorisé.",
        "Article 2 : quatre caméras.",
        "Article 3 : Exécution.\n"
        + _SIGN.format(date="14 octobre 2026", function="Le sous-préfet,", name="Anne PETIT"),
    ]


def make_scanned_pdf(path: Path, pages: list[str], scanned: set[int], *, dpi: int = 150) -> Path:
    """Like make_pdf, but the pages whose 1-based numbers are in ``scanned`` are images only."""
    import pypdfium2

    text_pdf = make_pdf(path.with_suffix(".text.pdf"), pages)
    doc = pypdfium2.PdfDocument(str(text_pdf))
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 10, 14, 8, 0, tzinfo=UTC))
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        if number in scanned:
            image = doc[number - 1].render(scale=dpi / 72, grayscale=True).to_pil()
            pdf.image(image, x=0, y=0, w=pdf.w, h=pdf.h)
        elif text:
            pdf.multi_cell(0, 5, text)
    doc.close()
    text_pdf.unlink()
    pdf.output(str(path))
    return path


def make_raw_pdf(path: Path, content_chunks, *, media_box: int = 595, compress: bool = False) -> Path:
    """A one-page PDF whose content stream is the concatenation of ``content_chunks`` (bytes).

    With ``compress``, the stream is Flate-compressed chunk by chunk, so a stream that expands to
    gigabytes (a decompression bomb) is written without ever being held in memory.
    """
    import zlib

    if compress:
        z = zlib.compressobj(9)
        data = b"".join(z.compress(c) for c in content_chunks) + z.flush()
    else:
        data = b"".join(content_chunks)
    flate = b" /Filter /FlateDecode" if compress else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>" % (media_box, media_box),
        b"<< /Length %d%s >>\nstream\n" % (len(data), flate) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def make_slow_layout_pdf(path: Path, boxes: int = 4000) -> Path:
    """One page of ``boxes`` scattered words: pdfminer's layout analysis of it runs for minutes
    in a single call that no in-process deadline can interrupt."""
    import random

    rng = random.Random(1)
    words = (
        b"BT /F1 3 Tf %d %d Td (ab) Tj ET\n" % (rng.randint(0, 4900), rng.randint(0, 4900))
        for _ in range(boxes)
    )
    return make_raw_pdf(path, words, media_box=5000)


def make_bomb_pdf(path: Path, expanded_mb: int) -> Path:
    """A small PDF whose page content inflates to ``expanded_mb`` MiB of blanks."""
    chunk = b" " * (1 << 20)
    return make_raw_pdf(path, (chunk for _ in range(expanded_mb)), compress=True)
