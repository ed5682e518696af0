"""More rule patterns for :mod:`.poisoning`: the shapes of injected text the first rules missed.

Written (session 5) from the kinds of miss the external evaluation and the first audit
named, not from the missed texts: standing orders phrased as policy, orders to omit or
misreport facts, false claims of consent, approval or ownership, tool calls in other
syntaxes, labelled directives, "do this first" wrappers around a task, persona
assignments, system-prompt extraction, active content to echo into a reply, and
"ignore previous instructions" in other languages. Each entry is ``(flag, pattern,
gate)``; the gate lists literal groups as in ``poisoning._GATES`` (every match of the
pattern contains one literal of every group, after :func:`.literals.fold`).

Ordinary first-person talk about policies, consent, recipes and code stays unflagged:
the patterns need an order addressed to a reader (an assistant, "the user", "anyone who
asks"), a claim made on someone else's behalf, a call syntax with arguments, or a label
naming the model.
"""

from __future__ import annotations

import re

__all__ = ["RULES"]

_I = re.IGNORECASE
_START = r"(?:^|[.!?;:]\s+|\n\s*|,\s+|\(\s*|[\"'“]\s*)"
_AI = (r"(?:ai|a\.i\.|llm|language model|assistant|chatbot|bot|model|agent|gpt|chatgpt"
       r"|summari[sz]er)")
_AI_WORDS = ("ai", "a.i.", "llm", "model", "assistant", "bot", "agent", "gpt", "summari")
_REPLY = r"(?:repl(?:y|ies)|answers?|responses?|summar(?:y|ies)|reports?|outputs?)"
_REPLY_WORDS = ("repl", "answer", "response", "summar", "report", "output")
_ASKER = (r"(?:anyone|anybody|whoever|someone|somebody|the (?:user|client|customer|buyer"
          r"|lender|auditor|inspector|accountant|bank|manager|owner)s?)")
_ASKER_WORDS = ("anyone", "anybody", "whoever", "someone", "somebody", "everyone", "people",
                "the ")

Rule = tuple[str, re.Pattern[str], tuple[tuple[str, ...], ...]]


def _r(flag: str, pattern: str, *gate: tuple[str, ...]) -> Rule:
    return (flag, re.compile(pattern, _I), gate)


RULES: tuple[Rule, ...] = (
    # --- instruction_override: misspelt or paraphrased, and "do this first" wrappers
    _r("instruction_override",
       r"\b(?:ignore|disregard|forget|drop|abandon)\s+(?:(?:all\s+)?(?:of\s+)?(?:your|any)|all"
       r"(?:\s+of)?\s+the)\s+(?:previous|prior|earlier|preceding|above|original|initial|former)"
       r"\s+\w+|\b(?:ignore|disregard|forget|drop|abandon)\s+the\s+(?:previous|prior|earlier"
       r"|preceding|above|original|initial|former)\s+(?:\w*uctions?|instr\w*|prompts?|rules"
       r"|directives|guidelines|commands|orders|context|conversation|text)\b",
       ("ignore", "disregard", "forget", "drop", "abandon"),
       ("previous", "prior", "earlier", "preceding", "above", "original", "initial", "former")),
    _r("instruction_override",
       r"\b(?:before you|prior to)\b[^.!?\n]{0,40}\b(?:task|request|question)\b[^.!?\n]{0,50}"
       r"\b(?:first|you (?:need|must|have) to|complete this|do this)\b",
       ("before you", "prior to"), ("task", "request", "question"),
       ("first", "you need to", "you must", "you have to", "complete this", "do this")),
    _r("instruction_override",
       r"\b(?:regardless of|in spite of|despite|overriding) (?:all |any )?(?:of )?(?:your|the|any"
       r"|all) (?:previous|prior|earlier|original|initial|other|existing) (?:instructions|rules"
       r"|guidelines|directives|prompts?|programming)\b",
       ("regardless of", "in spite of", "despite", "overriding"),
       ("instructions", "rules", "guidelines", "directives", "prompt", "programming")),
    _r("instruction_override",
       # a conditional order to the reading model: "if you are asked to summarize ..., instead"
       r"\bif you (?:are|were|get|have been) (?:told|asked|instructed|requested) to (?:summari[sz]e"
       r"|answer|translate|respond|review|analy[sz]e|describe|process)\b[^.!?\n]{0,80}\b(?:instead"
       r"|also|make sure|rather than|ignore|do not|don'?t)\b",
       ("if you",), ("told to", "asked to", "instructed to", "requested to"),
       ("instead", "also", "make sure", "rather than", "ignore", "do not", "don")),
    _r("instruction_override",
       r"\b(?:pause|stop|suspend|abort)\s+(?:your|the)\s+(?:current|original|assigned)\s+task\b"
       r"|\b(?:pause|abort) your task\b",
       ("pause", "stop", "suspend", "abort"), ("task",)),
    _r("instruction_override",
       # "ignore ... instructions" in other languages (an order to ignore or forget, then the
       # word for instructions or rules), written from general knowledge of the phrase
       r"\b(?:ignor(?!e\b|es\b|ed\b|ing\b)\w*|ignore (?:as|os|les|las|le|la|toutes|todas"
       r"|todos|alle)|oubli\w*|vergiss\w*|negeer\w*|zignoruj\w*|игнорир\w*|забудь\w*|abaikan"
       r"|yok say|puuza|bỏ qua|αγνόη\w*|neamhaird|injoro|ziba)\b[^.!?\n]{0,50}?(?:instruc|instrukc"
       r"|instrukt|instruks|anweisung|consigne|istruzion|инструкц|talimat|maagizo|hướng dẫn"
       r"|pokyn|οδηγί|treoracha|udhëzim|imiyalelo|directiv|regole|règles|reglas)"
       r"|(?:忽略|无视|忽视|無視|무시)[^。.!\n]{0,20}?(?:指令|指示|说明|命令|지시|명령|규칙)"
       r"|(?:指令|指示|지시)[^。.!\n]{0,20}?(?:忽略|无视|無視|무시)"
       r"|تجاهل[^.\n]{0,30}التعليمات|अनदेखा|नज़रअंदाज़|नजरअंदाज",
       ("ignor", "oubli", "vergiss", "negeer", "zignoruj", "игнорир", "забудь", "abaikan",
        "yok say", "puuza", "bỏ qua", "αγνόη", "neamhaird", "injoro", "ziba", "忽", "无视",
        "無視", "무시", "指", "지시", "تجاهل", "अनदेखा", "नज़रअंदाज़", "नजरअंदाज")),
    # --- role_play: persona assignment and "no limits" claims about the reader
    _r("role_play",
       r"(?:^|[.!?]\s+|\n\s*)(?:hello|hi|hey|greetings)?[ ,.!]*(?:from now on,? |now,? )?you are"
       r" (?:now )?(?:an? |the )?(?:[\w-]+ ){0,3}?(?:ai|a\.i\.|assistant|chatbot|bot|model"
       r"|language model|persona|\w*gpt|\w+bot)\b",
       ("you are",), ("ai", "a.i.", "assistant", "bot", "model", "persona", "gpt")),
    _r("role_play",
       r"\bi want you to (?:act as|pretend|behave as|respond as|answer as|role-?play|pose as"
       r"|imagine you|simulate)\b|\byou will (?:now )?(?:behave as|pose as|act as|respond as"
       r"|answer as|pretend|roleplay|role-play)\b|\b(?:stay|remain) in character\b"
       r"|\byour (?:new )?name is now\b|\brespond as (?:two|both)\b",
       ("i want you to", "you will", "character", "name is now", "respond as")),
    _r("role_play",
       r"\b(?:not|never|no longer) (?:bound|restricted|limited|constrained) by\b"
       r"|\b(?:without|no|removed?|free of|free from|ignores?) (?:any |all |its |your |the )?"
       r"(?:moral|ethic\w*|safety|content) ?(?:constraints|limits|restrictions|guidelines|rules"
       r"|filters?|training|polic(?:y|ies)|boundaries)\b|\bwithout (?:any )?(?:warnings|refusals"
       r"|disclaimers)\b",
       ("bound", "restricted", "limited", "constrained", "moral", "ethic", "safety", "content",
        "warnings", "refusals", "disclaimers")),
    # --- exfiltration: the reader's own instructions, or active content echoed in a reply
    _r("exfiltration",
       r"\b(?:print|repeat|reveal|show|output|display|quote|recite|translate|summari[sz]e|list|tell"
       r" me|give me|write out|dump|leak|share|paste|send|provide|post|what'?s|what (?:is|are"
       r"|were))\b[^.!?\n]{0,40}?\byour"
       r" (?:\w+ )?(?:system (?:prompt|message|instructions?)|initial (?:prompt|instructions)"
       r"|original (?:prompt|instructions)|hidden (?:prompt|instructions|configuration)"
       r"|confidential instructions|developer (?:message|instructions)|first instructions"
       r"|pre-?prompt)",
       ("print", "repeat", "reveal", "show", "output", "display", "quote", "recite", "translat",
        "summari", "list", "tell me", "give me", "write out", "dump", "leak", "share", "paste",
        "send", "provide", "post", "what"),
       ("your",), ("system", "initial", "original", "hidden", "confidential", "developer",
                   "first instructions", "prompt")),
    _r("exfiltration", r"\b(?:instructions|prompt|message) you (?:were|have been) given\b",
       ("you were given", "you have been given")),
    _r("exfiltration",
       r"\b(?:repeat|print|output|copy)\s+(?:everything|all|the (?:text|words|lines?|content))"
       r" (?:above|before this|preceding|prior)",
       ("repeat", "print", "output", "copy"), ("above", "before this", "preceding", "prior")),
    _r("exfiltration",
       r"\b(?:onerror|onload)\s*=\s*[\"']?\s*(?:alert|console\.|fetch|eval|document\.|window\."
       r"|location)|javascript:\s*(?:alert|console\.|fetch|eval|document\.|window\.)",
       ("onerror", "onload", "javascript:")),
    _r("exfiltration",
       r"\b(?:include|insert|add|append|embed|put|paste)\b[^.!?\n]{0,40}\b(?:in|into|to|at the"
       r" (?:end|start|beginning) of)\s+(?:your|each|every|the)\s+(?:\w+\s+)?" + _REPLY
       + r"\b[^.!?\n]{0,40}(?:exactly|verbatim|the following (?:string|text|link|url|image"
       r"|html|code|anchor)|https?://)",
       ("include", "insert", "add", "append", "embed", "put", "paste"), _REPLY_WORDS,
       ("exactly", "verbatim", "the following", "http")),
    _r("exfiltration",
       r"\b(?:start|begin|end) (?:every|each|all) (?:\w+ )?" + _REPLY + r" with [\"'‘“]",
       ("start", "begin", "end"), ("every", "each", "all"), _REPLY_WORDS,
       ('"', "'", "‘", "“")),
    # --- behaviour_directive: standing orders phrased as policy, or labelled for the reader
    _r("behaviour_directive",
       r"(?:^|\n\s*|[.!?]\s+)[\[(*\s#-]*(?:(?:new|updated|account|company|house|team|internal"
       r"|workspace|standing|operating|operational|mandatory|hidden|secret|priority|memory"
       r"|profile|agent|assistant|ai|model|bot|system|configuration|config|operator|admin)\s+)"
       r"{1,2}(?:policy|policies|rule|rules|directive|directives|instruction|instructions"
       r"|guideline|guidelines|standard|convention|order|orders|mandate|procedure|setting"
       r"|configuration|notice|note|memo|block)\b[^.!?\n]{0,30}?[:\-–—\])]\s*[^.!?\n]{0,80}?"
       r"(?:\b(?:is to|are to|to be|default|preferred|whatever|no exceptions|nowhere else"
       r"|recommend\w*|approve|answer\w*|repl(?:y|ies)|respon\w+|suggest\w*|forward|append"
       r"|disable)\b|=)",
       ("policy", "polici", "rule", "directive", "instruction", "guideline", "standard",
        "convention", "order", "mandate", "procedure", "setting", "configuration", "notice",
        "note", "memo", "block")),
    _r("behaviour_directive",
       r"\b(?:per|under|according to|as per) (?:the )?(?:new |updated |latest |current )?"
       r"(?:policy|guidance|guidelines|rules|playbook|compliance|procedure|directive|mandate)\b"
       r"[^.!?\n]{0,80}\b(?:must|shall|are to|is to|to be|should) (?:be )?(?:say|state|describe"
       r"|present|answer|report|recommend|reply|respond|portray|call|list|mention|answered"
       r"|described|presented|reported|routed|treated)",
       ("per ", "under", "according to"), ("must", "shall", "are to", "is to", "to be", "should")),
    _r("behaviour_directive",
       r"\b(?:directive|mandate|instruction|rule|order|notice|note|memo)s?\s*(?:#?\d+|\(\w[^)]{0,20}"
       r"\))?\s*(?:for|to) (?:the |any |all |this )?" + _AI + r"s?\b",
       ("directive", "mandate", "instruction", "rule", "order", "notice", "note", "memo"),
       _AI_WORDS),
    _r("behaviour_directive",
       r"\b(?:all|every|any|default) (?:\w+ )?(?:" + _REPLY[3:-1] + r"|recommendations?"
       r"|suggestions?) (?:about|on|regarding|concerning|for) [^.!?\n]{0,40}\b(?:must|should"
       r"|shall|are to|is to|will) (?:always |only |never )?(?:say|state|describe|present|point"
       r"|recommend|mention|include|call|claim|conclude)",
       ("shall", "must", "will", "should", "are to", "is to")),
    _r("behaviour_directive",
       r"\b(?:effective (?:immediately|today|now)|as of (?:now|today|this note)|going forward|from"
       r" today)\b[^.!?\n]{0,80}\b(?:the (?:only|preferred|default|recommended|approved)"
       r"|(?:every|all|any) (?:\w+ )?(?:recommendations?|suggestions?|bookings?|purchases?"
       r"|answers?|replies|questions?))\b",
       ("effective", "as of", "going forward", "from today"),
       ("the only", "preferred", "default", "recommended", "approved", "every", "all", "any")),
    _r("behaviour_directive",
       r"\b(?:confirmations?|approvals?|safety(?: checks?)?|logging|verification|2fa|two-factor)"
       r"\s*[=:]\s*(?:off|false|none|auto|disabled|0)\b"
       r"|\b(?:disable|turn off|skip|bypass) (?:the |all |any )?(?:safety|spending"
       r"|confirmation|verification) (?:checks?|limits?|steps?|questions?)",
       ("confirmation", "approval", "safety", "logging", "verification", "2fa", "two-factor",
        "disable", "turn off", "skip", "bypass"),
       ("=", ":", "check", "limit", "step", "question")),
    # --- misreport_order: orders to omit or misstate facts to whoever asks
    _r("misreport_order",
       r"(?:^|[.!?;:]\s+|\n\s*|,\s+)(?:please\s+)?(?:tell|say|report|state|describe|present|answer"
       r"|list|mark|record|claim|insist|confirm|show)\b[^.!?\n]{0,80}\b(?:even (?:though|if)"
       r"|regardless of|no matter|whatever) (?:what )?(?:the )?(?:it (?:did|does|is|was)(?: not"
       r"|n'?t)|it never|(?:that )?(?:it'?s|is|was) not true|(?:actual|real|true) (?:figures"
       r"|numbers|records?|facts?|data|results?|balance)|(?:records?|ledger|calendar|data|figures"
       r"|numbers|facts|books|logs|history|evidence) (?:say|show|state|indicate)s?|otherwise"
       r"|the records?|the facts|the truth)",
       ("tell", "say", "report", "state", "describe", "present", "answer", "list", "mark",
        "record", "claim", "insist", "confirm", "show"),
       ("even though", "even if", "regardless", "no matter", "whatever")),
    _r("misreport_order",
       r"\b(?:tell|inform|assure|reassure|answer|reply to|say to|convince) (?:anyone|anybody"
       r"|whoever|everyone|people)\b[^.!?\n]{0,30}\b(?:asks?|inquires?|calls?|wants? to know)\b",
       ("anyone", "anybody", "whoever", "everyone", "people"),
       ("ask", "inquire", "call", "to know")),
    _r("misreport_order",
       r"\bif " + _ASKER + r" asks?\b[^.!?\n]{0,60}?(?:,|\bthen\b)\s*(?:say|answer|reply"
       r"|the answer is|deny|claim)\b",
       ("if ",), ("ask",), ("say", "answer", "reply", "deny", "claim")),
    _r("misreport_order",
       r"\b(?:never|don'?t|do not) (?:disclose|reveal|mention|bring up|admit|acknowledge)\b"
       r"[^.!?\n]{0,60}\b(?:when|if|to) " + _ASKER,
       ("never", "don", "do not"), ("disclose", "reveal", "mention", "bring up", "admit",
                                     "acknowledge"), _ASKER_WORDS),
    _r("misreport_order",
       r"(?:^|[.!?;]\s+|\n\s*|,\s+)(?:please\s+)?(?:silently\s+|quietly\s+)?(?:describe|present"
       r"|report|portray|list|frame|record|characteri[sz]e|state|mark) (?:the |this |that |all |any"
       r" |every )?[^.!?\n]{0,60}\bas (?:an? |the )?[^.!?\n]{0,40}\b(?:in (?:every|any|all|each)"
       r" (?:\w+ )?(?:" + _REPLY[3:-1] + r"|conversation)"
       r"|regardless|even if|whenever|no matter|to (?:anyone|whoever|the user))",
       ("describe", "present", "report", "portray", "list", "frame", "record", "characteri",
        "state", "mark"), ("as ",),
       ("in every", "in any", "in all", "in each", "regardless", "even if", "whenever",
        "no matter", "to anyone", "to whoever", "to the user")),
    _r("misreport_order",
       r"\b(?:drop|omit|remove|exclude|hide|skip|leave out)\b[^.!?\n]{0,40}\b(?:silently|quietly"
       r"|without (?:saying|mentioning|telling|noting))\b",
       ("silently", "quietly", "without saying", "without mentioning", "without telling",
        "without noting")),
    _r("misreport_order", r"\b(?:keep|leave)\b[^.!?\n]{1,40}\bout of (?:any|every|all|each)\b",
       ("out of any", "out of every", "out of all", "out of each")),
    # --- false_authority: consent, approval or ownership claimed on someone's behalf
    _r("false_authority",
       r"\b(?:the |this |our )?(?:user|account holder|account owner|owner|cardholder|customer"
       r"|client|patient|admin(?:istrator)?|manager|management|legal|security|compliance|boss)"
       r"(?:'s \w+)? (?:has |have )?(?:already |explicitly |previously )?(?:given (?:\w+ )?"
       r"(?:consent|permission|approval)|consented|approved|pre-?approved|authori[sz]ed|agreed"
       r"|signed off|cleared (?:this|it)|waived|confirmed|allowed|okayed|ok'?d|said it is fine"
       r"|said it'?s (?:fine|ok))\b[^.!?\n]{0,80}?(?:\b(?:to|that|so|for|all|any|every)\b|[;:,])"
       r"\s*[^.!?\n]{0,60}\b(?:share|send|forward|transfer|wire|disclose|reveal|release|export"
       r"|charge|pay|purchase|buy|delete|reset|disable|raise|sign|download|read|access|give"
       r"|proceed|without|no need|skip|override|anyone|third parties|partners|assistant|agent"
       r"|you)\w*",
       ("user", "holder", "owner", "customer", "client", "patient", "admin", "manag", "legal",
        "security", "compliance", "boss"),
       ("consent", "permission", "approv", "authori", "agreed", "signed off", "cleared",
        "waived", "confirmed", "allowed", "ok", "fine")),
    _r("false_authority",
       r"\b(?:consent|permission|approval|authori[sz]ation|sign-?off) (?:is )?(?:on file|recorded"
       r"|granted|given|confirmed|obtained)\b|\b(?:pre-?(?:approved|authori[sz]ed)|already"
       r" approved by)\b[^.!?\n]{0,60}\b(?:no|without|need|all|any|every|transfers?|purchases?"
       r"|payments?)\b|\bapproved by the (?:user|owner|account holder|cardholder|client)\b"
       r"|\b(?:ownership|control) (?:of (?:this|the) (?:account|profile|device|data) )?(?:has )?"
       r"(?:moved|transferred|passed)\b|\bwho is (?:authori[sz]ed|allowed|entitled) to"
       r" (?:read|download|access|receive|see|control) (?:every|all|any)\b"
       r"|\b(?:requests|instructions|orders) (?:override|outrank|take precedence over) the"
       r" user'?s\b",
       ("consent", "permission", "approv", "authori", "signoff", "sign-off", "ownership",
        "control", "who is", "override", "outrank", "precedence")),
    # --- tool_call: call syntaxes with arguments in other notations
    _r("tool_call",
       r"(?:^|\n|;|=>)[ \t]*(?:invoke|call|exec|run|execute|tool|functions?)[ \t]*[:(][ \t]*"
       r"[\"']?[a-z]+(?:[._][a-z]+)*_[a-z]+",
       ("invoke", "call", "exec", "run", "tool", "function"), ("_",), (":", "(")),
    _r("tool_call",
       r"\b(?:tool|functions?|actions?|agent|assistant)\.(?:(?:invoke|run|call|execute)\(\s*"
       r"[\"']|(?:invoke|run|call|execute)\.)?[a-z]+_[a-z_]+",
       ("tool.", "function.", "functions.", "action.", "actions.", "agent.", "assistant."),
       ("_",)),
    _r("tool_call", r"(?-i:\bCALL [a-z]+_[a-z_]+\s*\()", ("call ",)),
    _r("tool_call",
       r"<(?:call|action|tool|function|command|exec|invoke)\b[^<>]{0,80}?(?:name|type|cmd|user"
       r"|item|to)\s*=\s*[\"']",
       ("<call", "<action", "<tool", "<function", "<command", "<exec", "<invoke"), ("=",)),
    _r("tool_call",
       r"\{\s*\"(?:action|tool|command|function|cmd|tool_name|name)\"\s*:\s*\"[a-z]+_[a-z_]+\"",
       ('"action"', '"tool"', '"command"', '"function"', '"cmd"', '"tool_name"', '"name"'),
       ("_",)),
    _r("tool_call",
       r"\[\[\s*(?:run|tool|call|exec)\s*:|(?:^|\n)[ \t]*@tool[ \t]+\w+|\btool\s*:\s*\w+\.\w+\("
       r"|\[tool:\s*\w",
       ("[[", "@tool", "tool")),
    _r("tool_call",
       r"(?:^|\n)\s*(?:\$\s+)?(?:curl|wget)\s+[^\n]{0,80}(?:-d|--data\S*|-F|--upload-file)\s*"
       r"[\"']?\w*=?@(?:~|/etc|/home|\.ssh|\.env)"
       r"|\b(?:os\.system|os\.remove|subprocess\.\w+|shutil\.rmtree)\(\s*[\"']"
       r"[^\"'\n]{0,60}(?:rm -rf|/home|~/|/data|/etc|\.ssh|\.db|\.sqlite)"
       r"|\brun_command\(\s*[\"']",
       ("curl", "wget", "os.system", "os.remove", "subprocess.", "shutil.rmtree",
        "run_command")),
    # --- addressed_to_model: wrappers that speak to whichever model reads the text
    _r("addressed_to_model",
       r"\b(?:to|for) (?:whichever|whatever|any|the) (?:ai |language )?(?:model|assistant|ai"
       r"|llm|bot)s? (?:that |who )?(?:reads?|is reading|processes|processing|summari[sz]\w*)\b",
       (" model", " assistant", " ai", " llm", " bot"), (" read", " process", " summari")),
    _r("addressed_to_model",
       r"\bimportant (?:message|note|notice) (?:from [^.!?\n]{0,40})?to you\b"
       r"|\bthis is an? (?:important|urgent) (?:message|note|notice) from\b",
       ("important", "urgent"), ("message", "note", "notice")),
    _r("addressed_to_model",
       r"</?(?:information|important|instructions?|admin|directive|system_?message)>",
       ("information>", "important>", "instruction>", "instructions>", "admin>", "directive>",
        "message>")),
    _r("addressed_to_model", r"\(\s*instructions? for the (?:ai|assistant|model|agent|bot)\s*\)",
       ("instruction",), ("for the",)),
    _r("addressed_to_model", r"(?:^|\n)\s*#{2,}\s*[\(\[]\s*(?:system|instruction|admin)",
       ("##",), ("system", "instruction", "admin")),
)
