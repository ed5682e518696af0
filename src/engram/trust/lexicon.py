"""Words of an injected order in many languages, mapped to one feature per concept.

The model's n-grams learn English wording from thousands of payloads, but an order
translated into Irish or Zulu shares no n-gram with them. Here a word of any of about
fifty languages that means "ignore", "instructions", "previous", "password", "reveal",
"restrictions", "developer", "response", "assistant", "from now on", "prompt",
"include", "following", "image", "send" or "secret" adds the feature
``k:<concept>``, and so does the English word: the weight the model learns for the
concept from English payloads then applies to the same word in a language it has
hardly seen. The lists were written from general knowledge of the languages, not from
any evaluation source (a few inflected forms were added after seeing which orders of
``tests/fixtures/poisoning_varied.jsonl``, written by the same hand, had none).

A stem matches a word (lower-cased, NFKC, as :mod:`.classifier` reads words) that
starts with it; a stem written ``=stem`` matches that whole word only; a stem written
``*stem`` matches anywhere in a word (scripts written without spaces; Arabic and Hebrew,
which join articles and prepositions to the word; Zulu's class prefixes). A word with an
apostrophe is also read from after it (Italian ``dell'istruzione``), and a word whose
second letter is an ``h`` also without it (the lenition of Irish and Scottish Gaelic:
``fhreagra``, ``threoracha``). "User" is not a concept: English memories say "the user
likes tennis", and a weight learnt for it flagged them. Languages whose vowel signs
split a word in the model's tokenizer (Devanagari, Bengali) are left out.
"""

from __future__ import annotations

import unicodedata

__all__ = ["CONCEPTS", "concepts_of"]

#: concept -> stems (see the module docstring for ``=`` and ``*``)
CONCEPTS: dict[str, tuple[str, ...]] = {
    "ignore": (
        "ignor", "disregard", "zignor", "negeer", "игнор", "ігнор", "abaikan", "puuza",
        "=ziba", "ungayihoyi", "neamhaird", "anwybydd", "injor", "ohita", "αγνό", "αγνο",
        "prezri", "zanemar", "hunsa", "inyore", "görmezden", "watsi", "pansinin",
        "*忽略", "*无视", "*無視", "*무시", "*تجاهل", "*نادیده", "*התעלם"),
    "instruction": (
        "instruction", "instrucci", "instruç", "istruzion", "consigne", "anweisung",
        "instructie", "instrukc", "инструкц", "інструкц", "talimat", "instruksi", "arahan",
        "tagubilin", "maagizo", "*miyalelo", "*myalelo", "treoir", "treorach", "stiùireadh",
        "cyfarwydd", "udhëzim", "instrucțiun", "utasítás", "ohje", "instruktion",
        "instruksjon", "instruksie", "pokyn", "οδηγί", "juhis", "instrukcij", "navodil",
        "uput", "argibide", "leiðbeining", "istruzzjoni", "tilmaam", "umarni", "enstriksyon",
        "directive", "directiva", "direktive", "*指令", "*指示", "*지시", "*تعليمات",
        "*دستورالعمل", "*הוראות"),
    "previous": (
        "previous", "=prior", "preceding", "anterior", "précédent", "precedent", "vorherig",
        "bisherig", "eerdere", "vorige", "poprzedni", "предыдущ", "прежн", "попередн",
        "önceki", "sebelumnya", "naunang", "awali", "*ngaphambili", "blaenorol", "mëparshme",
        "korábbi", "aiemm", "tidigare", "tidligere", "předchozí", "predchádzajúc",
        "προηγούμεν", "varasem", "ankstesn", "iepriekšēj", "prejšnj", "prethodn", "aurreko",
        "fyrri", "anvan", "*之前", "*以前", "*これまで", "*이전", "*السابقة", "*قبلی",
        "*הקודמ"),
    "password": (
        "password", "passcode", "passwort", "contraseña", "contrasenya", "senha",
        "wachtwoord", "hasł", "пароль", "şifre", "sandi", "laluan", "nenosiri",
        "*phasiwedi", "lokugqitha", "wagwoord", "pasfhocal", "cyfrinair", "fjalëkalim",
        "parol", "jelsz", "salasana", "lösenord", "adgangskode", "passord", "heslo",
        "κωδικ", "slaptažod", "lozink", "pasahitz", "lykilorð", "igbaniwọle", "modpas",
        "credential", "*密码", "*パスワード", "*비밀번호", "*كلمة", "*סיסמ"),
    "reveal": (
        "reveal", "disclose", "révèle", "révél", "revela", "rivela", "enthüll", "verrat",
        "onthul", "ujawni", "раскр", "розкр", "ungkap", "dedahkan", "fichua", "datgel",
        "zbul", "dezvălu", "felfed", "paljast", "avslöj", "afslør", "avslør", "prozraď",
        "αποκάλυψ", "*泄露", "*透露", "*明かし", "*공개", "*اكشف", "*חשוף"),
    "restriction": (
        "restriction", "unrestrict", "restricci", "restriç", "restrizion", "einschränk",
        "beperking", "ogranicz", "ограничен", "обмежен", "kısıtla", "batasan", "vikwazo",
        "cyfyng", "kufizim", "restricți", "korlátoz", "rajoitu", "begränsning",
        "begrænsning", "begrensning", "omezení", "περιορισμ", "uncensor", "censor",
        "*限制", "*制限", "*제한", "*قيود", "*محدودیت", "*הגבל"),
    "developer": (
        "developer", "desarrollador", "développeur", "entwickler", "sviluppator",
        "desenvolvedor", "ontwikkelaar", "deweloper", "разработчик", "розробник",
        "geliştirici", "pengembang", "msanidi", "forbróir", "datblygwr", "zhvillues",
        "dezvoltator", "fejlesztő", "kehittäjä", "utvecklar", "udvikler", "utvikler",
        "vývojář", "προγραμματιστ", "*开发者", "*開発者", "*개발자", "*المطور", "*توسعه"),
    "response": (
        "response", "respuesta", "réponse", "antwort", "risposta", "resposta", "antwoord",
        "odpowied", "ответ", "відповід", "cevap", "cevab", "yanıt", "jawaban", "jawapan",
        "sagot", "jibu", "*mpendul", "freagra", "freagairt", "ateb", "përgjigj", "răspuns",
        "válasz", "vastau", "svar", "odpověď", "odpověd", "odpoved", "απάντησ", "vastus",
        "atsakym", "atbild",
        "odgovor", "erantzun", "tweġiba", "jawaab", "idahun", "amsa", "repons",
        "*回答", "*回复", "*답변", "*إجابة", "*پاسخ", "*תשובה"),
    "assistant": (
        "assistant", "asistente", "assistente", "asystent", "ассистент", "асистент",
        "asistan", "asisten", "msaidizi", "cúntóir", "cynorthwy", "asistent",
        "asszisztens", "avustaja", "assistent", "βοηθ", "*助手", "*アシスタント",
        "*어시스턴트", "*مساعد", "*دستیار"),
    "henceforth": (
        "henceforth", "désormais", "fortan", "d'ora", "voortaan", "odtąd", "отныне",
        "відтепер", "hemendik", "héðan", "hinfort", "fremover", "framover",
        "*今后", "*从现在开始", "*今後", "*지금부터", "*فصاعد", "*מעכשיו"),
    "include": (
        "include", "inclu", "includ", "inclou", "einfüg", "füge", "voeg", "dołącz",
        "uwzględni", "включ", "додай", "dahil", "sertakan", "masukkan", "isama", "jumuisha",
        "=faka", "cuimsigh", "cynnwys", "përfshi", "foglald", "sisällytä", "inkluder",
        "zahrň", "συμπεριλ", "įtrauk", "iekļau", "vključi", "uključi", "inkludi", "*包含",
        "*含め", "*포함", "*ضمّن", "*أدرج", "*כלול"),
    "following": (
        "following", "siguiente", "suivant", "folgend", "seguente", "seguinte", "volgende",
        "następując", "следующ", "наступн", "aşağıdaki", "berikut", "sumusunod", "ifuatayo",
        "*landelayo", "leanas", "canlynol", "mëposhtëm", "următo", "következő", "seuraava",
        "följande", "følgende", "následující", "nasledujúc", "ακόλουθ", "järgmi", "sekojoš",
        "naslednj", "sljedeć", "següent", "hurrengo", "eftirfarandi", "swivan", "*以下",
        "*다음", "*التالي", "*הבא"),
    "image": (
        "image", "imagen", "immagine", "imagem", "bild", "afbeelding", "obraz", "изображен",
        "зображен", "görsel", "gambar", "larawan", "picha", "*sithombe", "prent", "íomhá",
        "dealbh", "delwedd", "imazh", "=kép", "kuva", "billede", "bilde", "obrázek",
        "obrázok", "εικόν", "paveiksl", "attēl", "imatge", "irudi", "mynd", "immaġni",
        "sawir", "imaj", "*图片", "*图像", "*画像", "*이미지", "*صورة", "*تصویر", "*תמונה"),
    "send": (
        "send", "envía", "enviar", "envoie", "envoyer", "invia", "inviare", "envie", "sende",
        "schick", "stuur", "wyślij", "отправ", "надішл", "gönder", "kirim", "hantar",
        "ipadala", "=tuma", "*thumel", "anfon", "dërgo", "trimite", "küld", "lähetä",
        "skicka", "pošli", "στείλ", "saada", "siųsk", "sūti", "pošlji", "pošalji", "bidali",
        "ibgħat", "voye", "*发送", "*送信", "*보내", "*أرسل", "*بفرست", "*שלח"),
    "secret": (
        "secret", "confidential", "secreto", "segreto", "segredo", "geheim", "vertraulich",
        "vertrouwelijk", "tajn", "poufn", "секрет", "конфиденц", "gizli", "rahasia",
        "lihim", "=siri", "*mfihlo", "=rún", "dìomhair", "cyfrinach", "sekret", "titkos",
        "salai", "hemlig", "hemmelig", "μυστικ", "confidencial", "confidentiel", "riservat",
        "*秘密", "*機密", "*سري", "*סוד"),
    "prompt": (
        "prompt", "systemprompt", "systeemprompt", "промпт", "*提示词", "*プロンプト",
        "*프롬프트"),
}


def _norm(stem: str) -> str:
    return unicodedata.normalize("NFKC", stem).lower()


_PREFIX: dict[str, str] = {}
_WHOLE: dict[str, str] = {}
#: ``*`` stems: ASCII ones are tried on every word, the others on non-ASCII words only
_ANYWHERE_ASCII: list[tuple[str, str]] = []
_ANYWHERE: list[tuple[str, str]] = []
for _concept, _stems in CONCEPTS.items():
    for _s in _stems:
        if _s[0] == "=":
            _WHOLE[_norm(_s[1:])] = "k:" + _concept
        elif _s[0] == "*":
            _s = _norm(_s[1:])
            (_ANYWHERE_ASCII if _s.isascii() else _ANYWHERE).append((_s, "k:" + _concept))
        else:
            _PREFIX[_norm(_s)] = "k:" + _concept
_LENGTHS = sorted({len(s) for s in _PREFIX}, reverse=True)
_LENITED = frozenset("bcdfgmpst")


def _prefixed(word: str, out: list[str]) -> None:
    for n in _LENGTHS:
        if n <= len(word):
            got = _PREFIX.get(word[:n])
            if got:
                if got not in out:
                    out.append(got)
                return


def concepts_of(word: str) -> tuple[str, ...]:
    """The ``k:`` features of one word (lower-cased, NFKC): at most one per concept."""
    out: list[str] = []
    got = _WHOLE.get(word)
    if got:
        out.append(got)
    _prefixed(word, out)
    if "'" in word:
        _prefixed(word.rsplit("'", 1)[1], out)
    if len(word) > 4 and word[1] == "h" and word[0] in _LENITED:
        _prefixed(word[0] + word[2:], out)
    out += [c for s, c in _ANYWHERE_ASCII if s in word and c not in out]
    if not word.isascii():
        out += [c for s, c in _ANYWHERE if s in word and c not in out]
    return tuple(out)
