"""PDF documents patients open from a link: the boleto second copy and the exam report page."""

from __future__ import annotations

from datetime import date

from handoff.adapters.pdf import PdfPage, wrap
from handoff.domain.clinic.billing import boleto_status, format_brl, linha_digitavel
from handoff.domain.clinic.calendar import to_clinic
from handoff.domain.clinic.entities import Boleto, ClinicInfo, ExamResult

_STATUS_PT = {"open": "Em aberto", "overdue": "Vencido", "paid": "Pago"}


def _header(page: PdfPage, info: ClinicInfo, title: str, demo_notice: str | None) -> float:
    page.text(50, 790, info.name, 18, "bold")
    page.text(50, 772, info.address, 8)
    page.text(50, 761, f"Telefone {info.phone} · WhatsApp {info.whatsapp}", 8)
    page.line(50, 752, 545, 752)
    page.text(50, 730, title, 14, "bold")
    y = 712.0
    if demo_notice:
        page.text(50, y, f"DOCUMENTO DE DEMONSTRAÇÃO — {demo_notice}", 9, "bold")
        y -= 18
    return y


def boleto_pdf(info: ClinicInfo, boleto: Boleto, payer: str | None, today: date, demo: bool) -> bytes:
    """The second copy of a boleto: payee, payer, amounts, linha digitável, barcode and Pix."""
    page = PdfPage(f"Boleto - {info.name}")
    y = _header(page, info, "Boleto bancário — 2ª via", "dados fictícios, não efetue pagamento." if demo else None)
    status = boleto_status(boleto.due_date, boleto.paid_at is not None, today)
    rows = [
        ("Beneficiário", info.name),
        ("Pagador", payer or "—"),
        ("Descrição", boleto.description),
        ("Vencimento", boleto.due_date.strftime("%d/%m/%Y")),
        ("Valor", format_brl(boleto.amount_cents)),
        ("Situação", _STATUS_PT[status]),
    ]
    for label, value in rows:
        page.text(50, y, label, 9, "bold")
        page.text(150, y, value, 10)
        y -= 16
    y -= 8
    page.text(50, y, "Linha digitável", 9, "bold")
    page.text(50, y - 16, linha_digitavel(boleto.barcode), 12, "mono")
    y -= 32
    # No frame around the bars: scanners need a blank quiet zone of 10+ narrow widths each side.
    page.itf_barcode(60, y - 50, boleto.barcode, narrow=1.0, height=50)
    y -= 80
    page.text(50, y, "Pix copia e cola", 9, "bold")
    y -= 14
    for line in wrap(boleto.pix_code, 80):
        page.text(50, y, line, 8, "mono")
        y -= 11
    y -= 12
    for line in wrap("Pague pelo aplicativo do seu banco com a linha digitável, o código de barras ou o Pix. "
                     "Em caso de dúvida, fale com a recepção.", 100):
        page.text(50, y, line, 8)
        y -= 11
    return page.to_bytes()


def report_pdf(info: ClinicInfo, result: ExamResult, patient: str | None, demo: bool) -> bytes:
    """The report page of a ready exam (in the demo, a placeholder without clinical values)."""
    page = PdfPage(f"Laudo - {result.exam_name}")
    y = _header(page, info, f"Laudo — {result.exam_name}", "dados fictícios." if demo else None)
    for label, value in (
        ("Paciente", patient or "—"),
        ("Exame", result.exam_name),
        ("Coleta", to_clinic(result.collected_at).strftime("%d/%m/%Y %H:%M")),
        ("Liberado em", to_clinic(result.ready_at).strftime("%d/%m/%Y %H:%M") if result.ready_at else "—"),
    ):
        page.text(50, y, label, 9, "bold")
        page.text(150, y, value, 10)
        y -= 16
    y -= 10
    text = ("Ambiente de demonstração: este documento não contém resultados clínicos. "
            if demo else "")
    text += "Leve o laudo à sua consulta de retorno: quem interpreta o resultado é o seu médico."
    for line in wrap(text, 100):
        page.text(50, y, line, 9)
        y -= 12
    return page.to_bytes()
