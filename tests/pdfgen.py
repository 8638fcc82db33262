"""Build small PDFs for tests with fpdf2: one string per page, a Unicode font."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_pdf(path: Path, pages: list[str], *, user_password: str | None = None) -> Path:
    """Write ``pages`` (one string per page; "" for a blank page, as a scan would be) to ``path``."""
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 10, 14, 8, 0, tzinfo=UTC))
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 5, text)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
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
