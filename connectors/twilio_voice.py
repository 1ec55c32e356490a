"""Twilio Voice: the pt-BR phone menu (TwiML), the caller's choice, and calls placed to patients.

Shapes relied on (Twilio docs, "TwiML Voice: <Gather>", "<Say>", "<Dial>", "Twilio's request to
your application", "Create a Call resource"):
- incoming-call webhook (form-encoded, signed like the messaging webhooks with
  `X-Twilio-Signature`): `CallSid`, `AccountSid`, `From`, `To`, `CallStatus`, `Direction`;
  the `<Gather>` action adds `Digits` (keys pressed) and/or `SpeechResult` + `Confidence`.
  A caller who hides the number arrives as `anonymous` or one of Twilio's placeholder numbers.
- `<Gather input="dtmf speech" numDigits="1" language="pt-BR" action=… method="POST">`
  with the prompt nested in it; when the caller does nothing, the TwiML after it runs.
- outgoing calls: `POST /2010-04-01/Accounts/{sid}/Calls.json` with `To`, `From` (a Twilio
  voice number) and `Twiml` (what to do once answered) or `Url`; 201 + JSON with `sid`
  (`CA…`) and `status`. `StatusCallback` receives the call's final status.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import httpx
from twilio.twiml.voice_response import Gather, VoiceResponse

from connectors.base import ChannelError

LANGUAGE = "pt-BR"
BOOK, CALLBACK, EMERGENCY = "1", "2", "9"
# What hidden caller ids look like on Twilio (the caller chose not to show the number).
ANONYMOUS = frozenset({"anonymous", "restricted", "unknown", "private", "unavailable", "+266696687",
                       "+86282452253", "+8656696", "+2562533", "+7378742833"})

_WORDS = {
    EMERGENCY: ("nove", "emergencia", "urgencia", "socorro", "samu"),
    CALLBACK: ("dois", "retorno", "ligue", "ligar", "ligacao", "volta", "retornar"),
    BOOK: ("um", "uma", "marcar", "agendar", "consulta", "confirmar", "remarcar"),
}


class PayloadError(ValueError):
    """The request is signed but not a usable Twilio Voice request (HTTP 400)."""


@dataclass(frozen=True)
class CallInfo:
    """Who is calling: `caller` is None when the number is hidden."""

    call_sid: str
    caller: str | None
    called: str | None


def _first(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values and values[0] else None


def parse_call(form: dict[str, list[str]]) -> CallInfo:
    """The call a Voice webhook is about. Raises PayloadError without `CallSid`."""
    sid = _first(form, "CallSid")
    if not sid:
        raise PayloadError("CallSid is missing")
    caller = _first(form, "From")
    if caller is not None and caller.strip().lower() in ANONYMOUS:
        caller = None
    return CallInfo(sid, caller, _first(form, "To"))


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def menu_choice(form: dict[str, list[str]]) -> str | None:
    """The option the caller chose: the key pressed, else what they said ("dois", "emergência")."""
    digits = (_first(form, "Digits") or "").strip()
    if digits:
        return digits[0] if digits[0] in (BOOK, CALLBACK, EMERGENCY) else None
    speech = _plain(_first(form, "SpeechResult") or "")
    words = speech.replace(",", " ").replace(".", " ").split()
    for option in (EMERGENCY, CALLBACK, BOOK):  # an emergency word wins over everything else
        if option in words or any(w in words for w in _WORDS[option]):
            return option
    return None


def spoken_digits(number: str) -> str:
    """A phone number as <Say> should read it: digit by digit, in groups ("1 1, 9 8 7 6 5, …")."""
    digits = "".join(c for c in number if c.isdigit())
    if digits.startswith("55") and len(digits) in (12, 13):
        digits = digits[2:]
    groups = [digits[:2], digits[2:-4], digits[-4:]] if len(digits) >= 10 else [digits]
    return ", ".join(" ".join(g) for g in groups if g)


def _say(node: VoiceResponse | Gather, text: str) -> None:
    node.say(text, language=LANGUAGE)


def _say_and_hang_up(text: str) -> str:
    """TwiML that says `text` and ends the call."""
    response = VoiceResponse()
    _say(response, text)
    response.hangup()
    return str(response)


def _gather(action_url: str) -> Gather:
    return Gather(input="dtmf speech", num_digits=1, action=action_url, method="POST", language=LANGUAGE,
                  timeout=6, speech_timeout="auto", hints="marcar consulta, retorno, emergência")


def menu_twiml(*, clinic_name: str, action_url: str, retry_url: str | None) -> str:
    """The greeting menu. With no answer: once more through `retry_url`, then goodbye."""
    response = VoiceResponse()
    gather = _gather(action_url)
    _say(gather, f"Olá! Você ligou para {clinic_name}. "
                 "Para marcar ou confirmar uma consulta, digite 1. "
                 "Para pedir que a clínica ligue de volta, digite 2. "
                 "Em caso de emergência, digite 9.")
    response.append(gather)
    if retry_url:
        _say(response, "Não recebemos nenhuma opção.")
        response.redirect(retry_url, method="POST")
    else:
        _say(response, "Obrigado pela ligação. Até logo!")
        response.hangup()
    return str(response)


def booking_twiml(*, whatsapp: str | None, action_url: str) -> str:
    """Option 1: bookings happen on WhatsApp or the site; a call back is one key away."""
    response = VoiceResponse()
    where = f"pelo WhatsApp, no número {spoken_digits(whatsapp)}, ou " if whatsapp else "pelo WhatsApp ou "
    gather = _gather(action_url)
    _say(gather, f"Para marcar ou confirmar sua consulta, fale com a gente {where}pelo chat do nosso site, "
                 "a qualquer hora. Se preferir que a clínica ligue para você, digite 2.")
    response.append(gather)
    _say(response, "Obrigado pela ligação. Até logo!")
    response.hangup()
    return str(response)


def callback_twiml() -> str:
    """Option 2 accepted: someone will call back."""
    return _say_and_hang_up("Pronto! Anotamos seu pedido. Uma pessoa da nossa equipe vai ligar de volta para este "
                            "número assim que possível, no horário de atendimento. Até logo!")


def no_caller_twiml() -> str:
    """Option 2 from a hidden number: nobody to call back."""
    return _say_and_hang_up("Não conseguimos identificar o número de onde você está ligando. "
                            "Por favor, fale com a gente pelo WhatsApp ou pelo chat do site. Até logo!")


def emergency_twiml() -> str:
    """Option 9: the clinic is not an emergency service."""
    return _say_and_hang_up("Se for uma emergência, desligue e ligue agora para o SAMU, no 1 9 2, "
                            "ou vá ao pronto-socorro mais próximo.")


def invalid_twiml(menu_url: str) -> str:
    """An option that does not exist: back to the menu."""
    response = VoiceResponse()
    _say(response, "Opção inválida.")
    response.redirect(menu_url, method="POST")
    return str(response)


def connect_twiml(*, clinic_name: str, agent_phone: str, caller_id: str) -> str:
    """What a call placed to a patient does once answered: greet, then ring the attendant."""
    response = VoiceResponse()
    _say(response, f"Olá! Aqui é {clinic_name}, retornando a sua ligação. Aguarde um instante, por favor.")
    dial = response.dial(caller_id=caller_id, timeout=30)
    dial.number(agent_phone)
    _say(response, "Não conseguimos completar a ligação agora. Vamos tentar novamente mais tarde. Até logo!")
    return str(response)


@dataclass(frozen=True)
class PlacedCall:
    """Twilio's answer to a Calls request."""

    sid: str
    status: str


class TwilioCaller:
    """Places calls through `POST /2010-04-01/Accounts/{sid}/Calls.json`."""

    def __init__(self, *, api_base: str, account_sid: str, auth_token: str, from_number: str,
                 timeout: float = 15.0) -> None:
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Calls.json"
        self.from_number = from_number
        self._client = httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout)

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self._client.aclose()

    async def call(self, to: str, twiml: str, status_callback: str | None = None) -> PlacedCall:
        """Ring `to`; once answered Twilio runs `twiml`. Raises ChannelError."""
        form = {"To": to, "From": self.from_number, "Twiml": twiml}
        if status_callback:
            form["StatusCallback"] = status_callback
            form["StatusCallbackMethod"] = "POST"
        try:
            resp = await self._client.post(self.url, data=form)
        except httpx.HTTPError as exc:
            raise ChannelError(f"twilio unreachable: {type(exc).__name__}") from exc
        data: dict[str, object] = {}
        try:
            parsed = resp.json()
            data = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            pass
        if resp.status_code in (200, 201) and data.get("sid"):
            return PlacedCall(str(data["sid"]), str(data.get("status") or "queued"))
        retryable = resp.status_code >= 500 or resp.status_code == 429
        raise ChannelError(f"twilio answered {resp.status_code} (code {data.get('code')})", retryable=retryable)
