"""Deterministic demo data: a fictional US + EU FBA seller, written as real-format report files.

The demo (and the importers' tests) need data that looks exactly like Seller Central downloads and
an mbox of support mail, with known reimbursement opportunities planted in it. Everything derives
from `seed` and `now`: the same pair gives byte-identical files (no wall clock, no set iteration,
no hash() ordering; Message-IDs, MIME boundaries and aliases come from seeded Random instances).

Planted reimbursement opportunities (relative to `now`; claim rules as in DESIGN.md):

- fc_lost, open: 4 ledger Adjustments reason M, Unreconciled > 0, 12/23/34/47 days old, on four
  FNSKUs that have no Lost_Warehouse reimbursement at all.
- fc_lost, reimbursed (no claim): 2 M rows with Unreconciled > 0, each followed by a Lost_Warehouse
  reimbursement for the same FNSKU and quantity approved ~10 days after the ledger date.
- fc_lost, found (no claim): 1 M row with Reconciled = quantity, Unreconciled 0, and an F row later.
- fc_damaged, open: 3 Adjustments (reasons E, 6, H; 15/28/41 days old) unreconciled and
  unreimbursed, each followed by its P row re-adding the units as WAREHOUSE_DAMAGED.
- fc_lost, expired: 1 M row 75 days old, unreconciled, never reimbursed.
- inbound_shortfall: 2 CLOSED inbound shipments (delivered 44 and 27 days ago) with one SKU
  received short (5 and 4 units); the older one is partly covered by a Lost_Inbound reimbursement
  (2 units), leaving 3.
- return_not_received: 6 refunded FBA order lines with no customer-return row: 3 refunded 68 (US),
  82 (DE) and 96 (FR) days ago (window open), 2 refunded 12 (DE) and 25 (US) days ago (pending),
  1 refunded 115 days ago (US, open, deadline close).
- return_damaged: 2 returns graded CARRIER_DAMAGED (US) and DAMAGED (DE), refunds 72/88 days ago,
  no reimbursement.
- return_sellable_dispute: 2 returns graded SELLABLE: one with reason DEFECTIVE, one whose Amazon
  relay conversation (same order id) says the item arrived broken.
- reimbursement_underpaid: 2 reimbursements (a Damaged_Warehouse approved ~30 days ago and a
  CustomerReturn approved ~38 days ago, both USD) paying 30% below the SKU's sourcing cost.

Every other lost/damaged ledger row is reconciled (or reimbursed), every other refund has a return
row, every other CARRIER_DAMAGED/DAMAGED return is reimbursed, and every other reimbursement pays
well above cost, so the planted items are the only claims. (UK refunds appear in no finance file:
the US settlement is USD only and the date range file is the EUR account's.)

Mail: ~600 conversations (~1,700+ messages) in EN/DE/IT/FR/ES across the Amazon relay, Amazon
notices, Shopify, TikTok Shop and plain e-mail, ~60 of them new and unanswered; three carry
strings a terminal UI must render inertly (Rich markup in a subject, an OSC escape in a body, an
attachment named `../../evil.pdf`).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import pathlib
import random
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from email import policy
from email.contentmanager import raw_data_manager
from email.message import EmailMessage
from email.utils import formataddr, format_datetime

__all__ = ["generate_files"]

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
CENT = Decimal("0.01")
WINDOW_DAYS = 120
N_ORDERS = 2000
SELLER = "Alpine Kitchen Co."
SUPPORT = "support@alpinekitchen.example"
SUPPORT_NAME = "Alpine Kitchen Support"
UP_ALNUM = string.ascii_uppercase + string.digits
LOW_ALNUM = string.ascii_lowercase + string.digits
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAIL_POLICY = policy.compat32.clone(linesep="\n")
MAIL_OUT_POLICY = MAIL_POLICY.clone(max_line_length=998)   # headers fold only where _words folds them

# ----------------------------------------------------------------------------- data tables


@dataclass(frozen=True)
class Market:
    code: str
    channel: str            # sales-channel / marketplace-name
    currency: str
    tld: str
    lang: str
    country: str            # ledger Country / ship-country
    weight: float
    prefixes: tuple[str, ...]
    tax: Decimal            # US: sales tax added on top; EU/UK: VAT included in the price
    fcs: tuple[str, ...]
    cities: tuple[tuple[str, str, str], ...]


MARKETS: dict[str, Market] = {m.code: m for m in (
    Market("US", "Amazon.com", "USD", "com", "en", "US", 0.45, ("111", "112", "113", "114"),
           Decimal("0.07"), ("PHX7", "LEX1", "ONT8", "BFI4", "MDW2"),
           (("Seattle", "WA", "98101"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"),
            ("Columbus", "OH", "43215"), ("Portland", "OR", "97205"), ("Raleigh", "NC", "27601"),
            ("Phoenix", "AZ", "85004"), ("Madison", "WI", "53703"))),
    Market("UK", "Amazon.co.uk", "GBP", "co.uk", "en", "GB", 0.10, ("202", "203", "204", "206"),
           Decimal("0.20"), ("BHX4", "LBA1", "MAN1"),
           (("London", "", "EC1A 1BB"), ("Manchester", "Greater Manchester", "M1 1AE"),
            ("Leeds", "West Yorkshire", "LS1 4DY"), ("Bristol", "", "BS1 4DJ"))),
    Market("DE", "Amazon.de", "EUR", "de", "de", "DE", 0.25, ("302", "303", "304", "305", "306"),
           Decimal("0.19"), ("LEJ1", "DTM2", "FRA7", "MUC3"),
           (("Berlin", "Berlin", "10115"), ("München", "Bayern", "80331"),
            ("Hamburg", "Hamburg", "20095"), ("Köln", "Nordrhein-Westfalen", "50667"),
            ("Leipzig", "Sachsen", "04109"), ("Stuttgart", "Baden-Württemberg", "70173"))),
    Market("IT", "Amazon.it", "EUR", "it", "it", "IT", 0.07, ("402", "403", "404"),
           Decimal("0.22"), ("MXP5", "FCO1"),
           (("Milano", "MI", "20121"), ("Roma", "RM", "00184"), ("Torino", "TO", "10121"),
            ("Bologna", "BO", "40121"))),
    Market("FR", "Amazon.fr", "EUR", "fr", "fr", "FR", 0.08, ("405", "407", "408"),
           Decimal("0.20"), ("ORY1", "LYS1"),
           (("Paris", "", "75011"), ("Lyon", "", "69002"), ("Marseille", "", "13001"),
            ("Toulouse", "", "31000"))),
    Market("ES", "Amazon.es", "EUR", "es", "es", "ES", 0.05, ("406", "409"),
           Decimal("0.21"), ("MAD4", "BCN1"),
           (("Madrid", "Madrid", "28013"), ("Barcelona", "Barcelona", "08001"),
            ("Valencia", "Valencia", "46001"), ("Sevilla", "Sevilla", "41001"))),
)}
EU_DATE_RANGE = ("DE", "IT", "FR", "ES")     # the EUR marketplaces in the DE date range file


@dataclass(frozen=True)
class Sku:
    sku: str
    fnsku: str
    asin: str
    title: str
    prices: dict[str, Decimal]   # unit price per currency
    cost: Decimal                # sourcing cost, USD
    fba_fee: Decimal             # per unit, in the order's currency (rounded alike)
    weight: float                # sales popularity
    short: str                   # how buyers name it in English


def _sku(sku: str, fnsku: str, asin: str, title: str, usd: str, gbp: str, eur: str, cost: str,
         fee: str, weight: float, short: str) -> Sku:
    prices = {"USD": Decimal(usd), "GBP": Decimal(gbp), "EUR": Decimal(eur)}
    return Sku(sku, fnsku, asin, title, prices, Decimal(cost), Decimal(fee), weight, short)


SKUS: list[Sku] = [
    _sku("AK-KNIFE-8", "X00A7K3QZP", "B0C7XK2M9T", "Alpine Kitchen 8-Inch Chef Knife, German Steel",
         "39.99", "34.99", "37.99", "13.20", "4.10", 1.6, "chef knife"),
    _sku("AK-PAN-28", "X00B2M8RTL", "B0D1QH7W3N", "Alpine Kitchen 28 cm Non-Stick Frying Pan, Induction",
         "44.99", "39.99", "42.99", "15.40", "5.85", 1.5, "frying pan"),
    _sku("AK-PAN-24", "X00C9PW4HS", "B0D1QJ2Z8K", "Alpine Kitchen 24 cm Non-Stick Frying Pan, Induction",
         "34.99", "29.99", "32.99", "11.90", "5.40", 1.2, "small frying pan"),
    _sku("AK-BOARD-L", "X00D4TN6VX", "B0B8RS5L2P", "Alpine Kitchen Large Acacia Cutting Board with Juice Groove",
         "29.99", "25.99", "27.99", "9.80", "5.10", 1.0, "cutting board"),
    _sku("AK-POT-5Q", "X00E8GQ1JB", "B0C3VF9T6M", "Alpine Kitchen 5-Quart Stainless Stock Pot with Glass Lid",
         "59.99", "52.99", "56.99", "21.50", "7.25", 0.7, "stock pot"),
    _sku("AK-SHARP-2", "X00F3LZ7WD", "B0B5KP4X1R", "Alpine Kitchen 2-Stage Knife Sharpener",
         "14.99", "12.99", "13.99", "4.90", "3.45", 1.3, "knife sharpener"),
    _sku("AK-UTEN-6", "X00G6YH2CE", "B0C9WN3D7Q", "Alpine Kitchen 6-Piece Silicone Utensil Set",
         "24.99", "21.99", "22.99", "8.10", "4.35", 1.1, "utensil set"),
    _sku("AK-SCALE-D", "X00H1RB9KM", "B0D4TX8G2V", "Alpine Kitchen Digital Kitchen Scale, 5 kg",
         "19.99", "17.99", "18.99", "6.70", "3.90", 0.9, "kitchen scale"),
    _sku("AK-MILL-P", "X00J5VC3NU", "B0B2MZ6H4F", "Alpine Kitchen Ceramic Pepper Mill",
         "22.99", "19.99", "21.99", "7.60", "3.70", 0.8, "pepper mill"),
    _sku("AK-KNIFE-SET", "X00K8DS5PY", "B0C6JL1R9W", "Alpine Kitchen 5-Piece Knife Set with Block",
         "89.99", "79.99", "84.99", "31.40", "8.95", 0.6, "knife set"),
]

# (market, days ago, kind): refunds with no customer-return row.
PLANT_REFUNDS = [("US", 68, "open"), ("DE", 82, "open"), ("FR", 96, "open"),
                 ("DE", 12, "pending"), ("US", 25, "pending"), ("US", 115, "open")]
# (market, refund days ago, disposition, reason, plant): returns that are claims (or underpaid).
PLANT_RETURNS = [("US", 72, "CARRIER_DAMAGED", "DAMAGED_BY_CARRIER", "return_damaged"),
                 ("DE", 88, "DAMAGED", "QUALITY_UNACCEPTABLE", "return_damaged"),
                 ("US", 66, "SELLABLE", "DEFECTIVE", "sellable_reason"),
                 ("US", 78, "SELLABLE", "NO_REASON_GIVEN", "sellable_message"),
                 ("US", 47, "CARRIER_DAMAGED", "DAMAGED_BY_CARRIER", "underpaid")]
SELLABLE_REASONS = ("UNWANTED_ITEM", "ORDERED_WRONG_ITEM", "FOUND_BETTER_PRICE", "NO_REASON_GIVEN",
                    "MISSED_ESTIMATED_DELIVERY", "NOT_COMPATIBLE")
DAMAGE_REASONS = ("DEFECTIVE", "QUALITY_UNACCEPTABLE", "DAMAGED_BY_CARRIER", "MISSING_PARTS")
COMMENTS = {"SELLABLE": ("", "", "No longer needed", "Bought by mistake", "Found it cheaper elsewhere",
                         "Too big for my drawer"),
            "DAMAGED": ("Handle is loose", "Coating scratched", "Does not work", "Box crushed, item bent", "")}
# Inbound shipments: (delivered days ago or None, market, status, short units on one SKU)
INBOUND = [(112, "US", "CLOSED", 0), (96, "DE", "CLOSED", 0), (78, "US", "CLOSED", 0),
           (61, "US", "CLOSED", 0), (44, "US", "CLOSED", 5), (27, "DE", "CLOSED", 4),
           (9, "US", "RECEIVING", 0), (None, "DE", "WORKING", 0)]
# Removals: (days ago, type, status, sku index, disposition, requested, cancelled, disposed,
#            shipped, in process, market)
REMOVALS = [(92, "Return", "Completed", 3, "Unsellable", 4, 0, 0, 4, 0, "US"),
            (70, "Disposal", "Completed", 6, "Unsellable", 3, 0, 3, 0, 0, "US"),
            (55, "Disposal", "Completed", 1, "Unsellable", 2, 0, 2, 0, 0, "DE"),
            (38, "Return", "Cancelled", 8, "Sellable", 5, 5, 0, 0, 0, "US"),
            (6, "Return", "In Process", 9, "Sellable", 6, 0, 0, 2, 4, "US")]

NAMES = {
    "en": (("Emma", "Olivia", "James", "Michael", "Sarah", "David", "Jessica", "Daniel", "Ashley",
            "Chris", "Megan", "Ryan", "Laura", "Kevin", "Rachel", "Brian", "Hannah", "Tom"),
           ("Carter", "Bennett", "Hughes", "Morgan", "Foster", "Reed", "Collins", "Price", "Ward",
            "Brooks", "Turner", "Hayes", "Palmer", "Ellis")),
    "de": (("Lukas", "Anna", "Jonas", "Lea", "Felix", "Sophie", "Paul", "Marie", "Tobias", "Katrin",
            "Jürgen", "Sabine"),
           ("Becker", "Hoffmann", "Schäfer", "Krüger", "Wagner", "Braun", "Vogel", "Lehmann")),
    "it": (("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo"),
           ("Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco")),
    "fr": (("Camille", "Julien", "Léa", "Thomas", "Chloé", "Nicolas", "Manon", "Antoine"),
           ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Roux")),
    "es": (("Lucía", "Javier", "María", "Pablo", "Carmen", "Sergio", "Elena", "Álvaro"),
           ("García", "Fernández", "López", "Martínez", "Sánchez", "Navarro", "Ortega")),
}
MAIL_DOMAIN = {"en": "example.com", "de": "example.de", "it": "example.it", "fr": "example.fr",
               "es": "example.es"}

# Buyer messages: (category, text). {product} and {days} are filled in; non-English texts name the
# item generically because the listings' local titles are not modelled.
TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("where", "Hi, where is my order? I ordered the {product} {days} days ago and the tracking hasn't moved since."),
        ("where", "Hello, just checking where is my order. It was supposed to arrive yesterday. Can you help?"),
        ("not_arrived", "My package never arrived. Tracking says delivered but there is nothing at my door or with my neighbors."),
        ("not_arrived", "The {product} never arrived and it has been over a week. Please send a replacement or tell me what to do."),
        ("damaged", "The {product} arrived damaged. The box was crushed and the handle is bent. Photos attached."),
        ("damaged", "Unfortunately the {product} came broken, the glass lid shattered inside the box. What can you do?"),
        ("defective", "The {product} is defective: the coating started peeling after the second use."),
        ("defective", "I think my {product} is defective, it stopped working after three days."),
        ("refund", "I would like a refund for the {product}, it is not what I expected."),
        ("return", "How do I return the {product}? It is too big for my kitchen drawer."),
        ("thanks", "Got the {product} today and it works great. Thank you!"),
        ("thanks", "Thank you for the quick reply, everything is sorted now."),
        ("question", "Is the {product} dishwasher safe? The listing doesn't say."),
        ("question", "Can I use the {product} on an induction hob? Planning to buy a second one as a gift."),
        ("atoz", "I have waited two weeks with no answer. If I don't hear back today I will open an A-to-z claim."),
        ("chargeback", "Nobody replies to me, so I have asked my bank for a chargeback on this purchase."),
        ("negfeedback", "This is ridiculous. Sort this out today or I will leave negative feedback and a 1 star review."),
        ("invoice", "Could you please send me a VAT invoice for this order? I need it for my business accounts."),
    ],
    "it": [
        ("where", "Buongiorno, dov'è il mio ordine? L'ho fatto {days} giorni fa e il tracciamento è fermo."),
        ("not_arrived", "Non ho ricevuto il pacco, il corriere dice consegnato ma a casa non c'è niente."),
        ("damaged", "Il prodotto è arrivato danneggiato, la scatola era schiacciata. Allego le foto."),
        ("defective", "L'articolo è difettoso, il manico si muove già dopo una settimana."),
        ("refund", "Vorrei un rimborso, il prodotto non è come nella descrizione."),
        ("return", "Come posso fare il reso? Il prodotto è troppo grande per la mia cucina."),
        ("thanks", "Tutto arrivato e tutto perfetto, grazie mille!"),
        ("question", "Salve, la padella va bene anche per il piano a induzione?"),
        ("atoz", "Se non ricevo una risposta entro domani apro un reclamo dalla A alla Z."),
    ],
    "de": [
        ("where", "Hallo, wo ist meine Bestellung? Ich habe vor {days} Tagen bestellt und die Sendungsverfolgung zeigt nichts Neues."),
        ("not_arrived", "Ich habe das Paket nicht erhalten, obwohl es als zugestellt angezeigt wird."),
        ("damaged", "Der Artikel ist beschädigt angekommen, der Karton war komplett eingedrückt. Fotos anbei."),
        ("defective", "Das Messer ist defekt, die Klinge hat sich nach zwei Wochen aus dem Griff gelöst."),
        ("refund", "Ich möchte bitte eine Erstattung, der Artikel entspricht nicht meinen Erwartungen."),
        ("return", "Wie kann ich die Rücksendung veranlassen? Ich finde keinen Rücksendeschein."),
        ("thanks", "Alles gut angekommen, danke für den schnellen Versand!"),
        ("question", "Ist die Pfanne für Induktion geeignet? Ich überlege, noch eine zu kaufen."),
        ("atoz", "Wenn ich bis morgen keine Antwort habe, stelle ich einen Antrag auf die A-bis-z-Garantie."),
        ("chargeback", "Da niemand antwortet, habe ich bei meiner Bank eine Rückbuchung veranlasst."),
    ],
    "fr": [
        ("where", "Bonjour, où est ma commande ? Je l'ai passée il y a {days} jours et le suivi ne bouge plus."),
        ("not_arrived", "Je n'ai pas reçu mon colis, alors que le suivi indique qu'il a été livré."),
        ("damaged", "L'article est arrivé endommagé, le carton était écrasé. Voici les photos."),
        ("refund", "Je souhaite un remboursement, l'article ne correspond pas à mes attentes."),
        ("return", "Comment faire un retour ? L'article est trop grand pour mon tiroir."),
        ("thanks", "Bien reçu, tout est parfait, merci beaucoup !"),
        ("question", "La poêle est-elle compatible avec une plaque à induction ?"),
        ("atoz", "Sans réponse de votre part, je vais ouvrir une réclamation au titre de la Garantie A à Z."),
    ],
    "es": [
        ("where", "Hola, ¿dónde está mi pedido? Lo hice hace {days} días y el seguimiento no avanza."),
        ("not_arrived", "No he recibido el paquete aunque el seguimiento dice que está entregado."),
        ("damaged", "El artículo llegó dañado, la caja venía aplastada. Adjunto fotos."),
        ("refund", "Quiero un reembolso, el producto no es como en la descripción."),
        ("return", "¿Cómo hago la devolución? El producto es demasiado grande."),
        ("thanks", "Todo perfecto, ¡muchas gracias!"),
        ("question", "¿La sartén sirve para placas de inducción?"),
        ("atoz", "Si no me responden hoy abriré una reclamación en la Garantía de la A a la Z."),
        ("chargeback", "Voy a pedir un contracargo a mi banco si no recibo respuesta."),
    ],
}
FOLLOWUPS = {
    "en": ("This is the second time I'm writing about this. Please answer.",
           "Still waiting for an answer on this. Any update?",
           "Hello? I wrote a few days ago and have heard nothing back."),
    "it": ("È la seconda volta che vi scrivo, per favore rispondete.", "Ancora nessuna risposta? Aspetto da giorni."),
    "de": ("Ich schreibe Ihnen jetzt zum zweiten Mal. Bitte melden Sie sich.", "Gibt es schon etwas Neues? Ich warte seit Tagen."),
    "fr": ("C'est la deuxième fois que je vous écris, merci de répondre.", "Toujours pas de réponse ? J'attends depuis plusieurs jours."),
    "es": ("Es la segunda vez que les escribo, por favor respondan.", "¿Alguna novedad? Sigo esperando respuesta."),
}
CATEGORY_WEIGHTS = {"where": 18, "not_arrived": 10, "damaged": 12, "defective": 5, "refund": 12,
                    "return": 10, "thanks": 10, "question": 13, "atoz": 3, "chargeback": 2,
                    "negfeedback": 2, "invoice": 3}
DAMAGE = ("damaged", "defective")
REPLY_GROUP = {"where": "ship", "not_arrived": "ship", "damaged": "damage", "defective": "damage",
               "refund": "money", "return": "money", "atoz": "money", "chargeback": "money",
               "negfeedback": "money", "thanks": "thanks", "question": "info", "invoice": "info"}
REPLIES = {
    "en": {"hello": "Hi {first},", "ref": "Thank you for your message{ref}.", "order": " about order {order}",
           "ship": "I checked the tracking: the parcel is with the carrier and should reach you within two working days. If it doesn't, we will send a new one at no cost.",
           "damage": "I'm very sorry the item didn't reach you in perfect condition. A replacement ships today and you don't need to send anything back.",
           "money": "I've issued a full refund today; it usually shows on your statement within 3-5 days.",
           "thanks": "We're glad to hear it, enjoy cooking!",
           "info": "Yes, it works on gas, electric and induction hobs and is dishwasher safe. The invoice is attached to the order page.",
           "bye": "Kind regards,\nAlpine Kitchen Support"},
    "it": {"hello": "Buongiorno {first},", "ref": "grazie per il messaggio{ref}.", "order": " relativo all'ordine {order}",
           "ship": "Ho verificato la spedizione: il pacco è in consegna e arriverà entro due giorni lavorativi.",
           "damage": "Ci dispiace molto. Le spediamo oggi stesso un prodotto sostitutivo, senza bisogno di restituire nulla.",
           "money": "Abbiamo emesso oggi il rimborso completo, lo vedrà sul conto entro pochi giorni.",
           "thanks": "Siamo felici che sia tutto a posto!", "info": "Sì, è adatta a tutti i piani cottura, induzione compresa.",
           "bye": "Cordiali saluti,\nAlpine Kitchen Support"},
    "de": {"hello": "Hallo {first},", "ref": "vielen Dank für Ihre Nachricht{ref}.", "order": " zur Bestellung {order}",
           "ship": "Ich habe die Sendung geprüft: Das Paket ist unterwegs und sollte in zwei Werktagen bei Ihnen sein.",
           "damage": "Das tut uns sehr leid. Wir schicken Ihnen heute kostenlos Ersatz, Sie müssen nichts zurücksenden.",
           "money": "Wir haben den vollen Betrag heute erstattet; er ist in wenigen Tagen auf Ihrem Konto.",
           "thanks": "Das freut uns sehr!", "info": "Ja, die Pfanne eignet sich für alle Herdarten, auch Induktion.",
           "bye": "Viele Grüße\nAlpine Kitchen Support"},
    "fr": {"hello": "Bonjour {first},", "ref": "merci pour votre message{ref}.", "order": " concernant la commande {order}",
           "ship": "J'ai vérifié le suivi : le colis est en cours de livraison et arrivera sous deux jours ouvrés.",
           "damage": "Nous en sommes désolés. Un article de remplacement part aujourd'hui, inutile de nous renvoyer quoi que ce soit.",
           "money": "Nous avons effectué le remboursement complet aujourd'hui.",
           "thanks": "Ravis que tout vous plaise !", "info": "Oui, elle est compatible avec tous les feux, induction comprise.",
           "bye": "Cordialement,\nAlpine Kitchen Support"},
    "es": {"hello": "Hola {first}:", "ref": "gracias por su mensaje{ref}.", "order": " sobre el pedido {order}",
           "ship": "He comprobado el envío: el paquete está en reparto y llegará en dos días laborables.",
           "damage": "Lo sentimos mucho. Hoy mismo le enviamos un producto de sustitución, no hace falta devolver nada.",
           "money": "Hemos emitido hoy el reembolso completo.",
           "thanks": "¡Nos alegra mucho!", "info": "Sí, sirve para todo tipo de cocinas, inducción incluida.",
           "bye": "Saludos cordiales,\nAlpine Kitchen Support"},
}
RELAY_SUBJECT = {"en": "Inquiry from Amazon customer {first} (Order: {order})",
                 "de": "Anfrage von Amazon-Kunde {first} (Bestellung: {order})",
                 "it": "Richiesta dal cliente Amazon {first} (Ordine: {order})",
                 "fr": "Demande du client Amazon {first} (Commande : {order})",
                 "es": "Consulta del cliente de Amazon {first} (Pedido: {order})"}
PLAIN_SUBJECTS = {"en": ("Question about my order", "Problem with my order", "Order help", "Your product"),
                  "de": ("Frage zu meiner Bestellung", "Problem mit meiner Bestellung", "Ihre Pfanne"),
                  "it": ("Domanda sul mio ordine", "Problema con l'ordine"),
                  "fr": ("Question sur ma commande", "Problème avec ma commande"),
                  "es": ("Pregunta sobre mi pedido", "Problema con mi pedido")}
RETURN_NOTICE_REASONS = ("No longer needed", "Bought by mistake", "Better price available", "Item arrived too late")
TIKTOK_WORDS = ("cooks", "kitchen", "home", "eats", "baker", "chef")


# ----------------------------------------------------------------------------- model


@dataclass(eq=False)
class Order:
    oid: str
    mkt: Market
    purchased: dt.datetime
    channel: str                      # "Amazon" (FBA) or "Merchant"
    status: str
    shipped: dt.datetime | None
    updated: dt.datetime
    city: tuple[str, str, str]
    level: str
    ship_ref: str
    fc: str
    lines: list[Line] = field(default_factory=list)


@dataclass(eq=False)
class Line:
    order: Order
    sku: Sku
    qty: int
    price: Decimal
    tax: Decimal
    item_code: str
    taken: bool = False               # reserved by a planted item
    sellable_return: bool = False


@dataclass(eq=False)
class Refund:
    line: Line
    when: dt.datetime
    adjustment_id: str


@dataclass(eq=False)
class Return:
    line: Line
    when: dt.datetime
    disposition: str
    reason: str
    status: str
    lpn: str
    fc: str
    comments: str


@dataclass(eq=False)
class Reimb:
    when: dt.datetime
    rid: str
    case_id: str
    oid: str
    reason: str
    sku: Sku
    condition: str
    currency: str
    per_unit: Decimal
    qty_cash: int
    qty_inv: int = 0


@dataclass(eq=False)
class Inbound:
    sid: str
    name: str
    status: str
    delivered: dt.datetime | None
    fc: str
    country: str
    items: list[tuple[Sku, int, int]]  # sku, shipped, received


@dataclass(eq=False)
class Conv:
    channel: str                       # relay, notify, shopify, tiktok, plain
    lang: str
    first: str
    last: str
    addr: str
    ref: str                           # order reference shown to the customer
    subject: str
    category: str
    mkt: Market | None = None
    msgs: list[tuple[dt.datetime, str, str, list[tuple[str, str, bytes]]]] = field(default_factory=list)


@dataclass(eq=False)
class World:
    now: dt.datetime
    orders: list[Order]
    refunds: list[Refund] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    reimbs: list[Reimb] = field(default_factory=list)
    ledger: list[tuple] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)
    removals: list[tuple] = field(default_factory=list)
    convs: list[Conv] = field(default_factory=list)
    sellable_message_line: Line | None = None

    @property
    def lines(self) -> list[Line]:
        return [line for order in self.orders for line in order.lines]


# ----------------------------------------------------------------------------- helpers


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _eu(value: Decimal) -> str:
    """EU number style used by the DE date range file: decimal comma, no grouping."""
    return f"{value:.2f}".replace(".", ",")


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _utc_text(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _code(rng: random.Random, n: int, alphabet: str = UP_ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10 ** (n - 1), 10 ** n))


def _ago(rng: random.Random, now: dt.datetime, days: float, jitter_hours: float = 10) -> dt.datetime:
    """A time `days` before now, moved back a random part of `jitter_hours` so it never lands at now."""
    return now - dt.timedelta(days=days, seconds=rng.randrange(60, int(jitter_hours * 3600) + 61))


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    return start + dt.timedelta(seconds=rng.randrange(max(1, int((end - start).total_seconds()))))


def _pick(rng: random.Random, items: list[Line], pred: Callable[[Line], bool]) -> Line:
    """Pick one item satisfying pred; the tables are sized so that there always is one."""
    candidates = [item for item in items if pred(item)]
    if not candidates:
        raise RuntimeError("demo_data: no candidate for a planted item (dataset too small?)")
    return rng.choice(candidates)


def _periods(anchor: dt.datetime, end: dt.datetime, closed_only: bool) -> list[tuple[dt.datetime, dt.datetime]]:
    """Biweekly settlement periods from anchor; closed_only drops the one still open at `end`."""
    out, start = [], anchor
    while start < end:
        stop = start + 14 * DAY
        if closed_only and stop > end:
            break
        out.append((start, stop))
        start = stop
    return out


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _write_tsv(path: pathlib.Path, header: str, rows: list[list]) -> None:
    """Amazon's flat files: tab-separated, no quoting, LF."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        for row in rows:
            fh.write("\t".join("" if v is None else str(v) for v in row) + "\n")


# ----------------------------------------------------------------------------- world building


def _make_orders(rng: random.Random, now: dt.datetime) -> list[Order]:
    codes = list(MARKETS)
    weights = [MARKETS[c].weight for c in codes]
    sku_weights = [s.weight for s in SKUS]
    used: set[str] = set()
    orders = []
    for _ in range(N_ORDERS):
        mkt = MARKETS[rng.choices(codes, weights)[0]]
        oid = ""
        while not oid or oid in used:
            oid = f"{rng.choice(mkt.prefixes)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        used.add(oid)
        purchased = now - dt.timedelta(seconds=rng.randrange(600, WINDOW_DAYS * 86400 - 600))
        channel = "Amazon" if rng.random() < 0.9 else "Merchant"
        shipped = None
        if rng.random() < 0.03:
            status = "Cancelled"
            updated = min(now, purchased + dt.timedelta(minutes=rng.randrange(10, 1200)))
        else:
            lo, hi = (2, 30) if channel == "Amazon" else (10, 60)
            ship = purchased + dt.timedelta(seconds=rng.randrange(lo * 3600, hi * 3600))
            if ship < now - dt.timedelta(minutes=10):
                status, shipped = "Shipped", ship
                updated = min(now, ship + dt.timedelta(seconds=rng.randrange(60, 7200)))
            else:
                status, updated = "Pending", min(now, purchased + dt.timedelta(minutes=rng.randrange(1, 30)))
        order = Order(oid, mkt, purchased, channel, status, shipped, updated, rng.choice(mkt.cities),
                      "Expedited" if rng.random() < 0.12 else "Standard",
                      "D" + _code(rng, 8, string.ascii_letters + string.digits), rng.choice(mkt.fcs))
        skus: list[Sku] = []
        n_lines = 2 if rng.random() < 0.16 else 1
        while len(skus) < n_lines:
            sku = rng.choices(SKUS, sku_weights)[0]
            if sku not in skus:
                skus.append(sku)
        for sku in skus:
            qty = rng.choices((1, 2, 3), (85, 12, 3))[0]
            price = sku.prices[mkt.currency] * qty
            tax = _money(price * mkt.tax) if mkt.code == "US" else _money(price - price / (1 + mkt.tax))
            order.lines.append(Line(order, sku, qty, price, tax, _digits(rng, 14)))
        orders.append(order)
    orders.sort(key=lambda o: (o.purchased, o.oid))
    return orders


def _fba_shipped(w: World) -> list[Line]:
    return [l for l in w.lines if l.order.channel == "Amazon" and l.order.status == "Shipped"]


def _add_return(rng: random.Random, w: World, line: Line, when: dt.datetime, disposition: str,
                reason: str, comments: str) -> Return:
    status = "Reimbursed" if disposition in ("CARRIER_DAMAGED", "DAMAGED") else "Unit returned to inventory"
    ret = Return(line, when, disposition, reason, status, "LPN" + _code(rng, 9),
                 rng.choice(line.order.mkt.fcs), comments)
    w.returns.append(ret)
    line.sellable_return = line.sellable_return or disposition == "SELLABLE"
    return ret


def _reimb(rng: random.Random, w: World, when: dt.datetime, reason: str, sku: Sku, currency: str,
           per_unit: Decimal, qty: int, oid: str = "", filed: bool = False) -> None:
    condition = "Sellable" if reason.startswith("Lost") else "Damaged"
    w.reimbs.append(Reimb(when, _digits(rng, 10), _digits(rng, 11) if filed else "", oid, reason, sku,
                          condition, currency, _money(per_unit), qty))


def _fair(rng: random.Random, sku: Sku, currency: str) -> Decimal:
    """What Amazon usually pays: well above cost, below the sale price."""
    return sku.prices[currency] * Decimal(str(round(rng.uniform(0.58, 0.75), 3)))


def _make_returns(rng: random.Random, w: World) -> None:
    now, fba = w.now, _fba_shipped(w)

    def near(code: str, when: dt.datetime):
        return lambda l: (not l.taken and l.order.mkt.code == code and l.qty == 1
                          and when - 20 * DAY <= l.order.shipped <= when - 2 * DAY)

    for code, days, _kind in PLANT_REFUNDS:
        when = _ago(rng, now, days)
        line = _pick(rng, fba, near(code, when))
        line.taken = True
        w.refunds.append(Refund(line, when, _digits(rng, 14)))
    for code, days, disposition, reason, plant in PLANT_RETURNS:
        when = _ago(rng, now, days)
        line = _pick(rng, fba, near(code, when))
        line.taken = True
        w.refunds.append(Refund(line, when, _digits(rng, 14)))
        ret = _add_return(rng, w, line, when + dt.timedelta(hours=rng.randrange(30, 96)), disposition,
                          reason, "Stopped working after two days" if plant == "sellable_reason" else "")
        if plant == "return_damaged":
            ret.status = "Unit returned to inventory"
        if plant == "sellable_message":
            w.sellable_message_line = line
        if plant == "underpaid":
            _reimb(rng, w, ret.when + 7 * DAY, "CustomerReturn", line.sku, "USD", line.sku.cost * Decimal("0.7"),
                   1, line.order.oid)
    dispositions = ("SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE", "CARRIER_DAMAGED", "DAMAGED")
    for line in fba:
        if line.taken or rng.random() >= 0.06:
            continue
        when = line.order.shipped + dt.timedelta(seconds=rng.randrange(4 * 86400, 30 * 86400))
        if when > now - 8 * HOUR:
            continue
        disposition = rng.choices(dispositions, (62, 16, 14, 5, 3))[0]
        currency = line.order.mkt.currency
        if disposition in ("CARRIER_DAMAGED", "DAMAGED"):
            approved = when + dt.timedelta(days=rng.randrange(5, 15))
            if approved < now:
                _reimb(rng, w, approved, "CustomerReturn", line.sku, currency, _fair(rng, line.sku, currency),
                       line.qty, line.order.oid)
            else:
                disposition = "CUSTOMER_DAMAGED"
        if disposition == "SELLABLE":
            reason, comments = rng.choice(SELLABLE_REASONS), rng.choice(COMMENTS["SELLABLE"])
        else:
            reason, comments = rng.choice(DAMAGE_REASONS), rng.choice(COMMENTS["DAMAGED"])
        _add_return(rng, w, line, when, disposition, reason, comments)
        if line.order.mkt.code != "UK":
            refund_at = max(line.order.shipped + DAY, when - dt.timedelta(seconds=rng.randrange(0, 3 * 86400)))
            w.refunds.append(Refund(line, refund_at, _digits(rng, 14)))
    w.returns.sort(key=lambda r: (r.when, r.line.order.oid))
    w.refunds.sort(key=lambda r: (r.when, r.line.order.oid))


def _led(w: World, when: dt.datetime, sku: Sku, event: str, ref: str, qty: int, fc: str, country: str,
         disposition: str = "SELLABLE", reason: str = "", rec: object = "", unrec: object = "") -> None:
    w.ledger.append((when, sku, event, ref, qty, fc, disposition, reason, country, rec, unrec))


def _make_ledger(rng: random.Random, w: World) -> None:
    """Shipments, returns, receipts, removals and adjustments (planted and routine)."""
    now = w.now
    for line in _fba_shipped(w):
        o = line.order
        if line.qty == 2 and rng.random() < 0.4:      # Amazon repeats identical unit rows
            for _ in range(2):
                _led(w, o.shipped, line.sku, "Shipments", o.ship_ref, -1, o.fc, o.mkt.country)
        else:
            _led(w, o.shipped, line.sku, "Shipments", o.ship_ref, -line.qty, o.fc, o.mkt.country)
    for ret in w.returns:
        disp = "WAREHOUSE_DAMAGED" if ret.disposition == "DAMAGED" else ret.disposition
        _led(w, ret.when, ret.line.sku, "CustomerReturns", ret.line.order.oid, ret.line.qty, ret.fc,
             ret.line.order.mkt.country, disp)
    for shipment in w.inbound:
        for sku, _shipped, received in shipment.items:
            if received == 0:
                continue
            at = shipment.delivered + dt.timedelta(seconds=rng.randrange(3600, 2 * 86400))
            at = min(at, now - HOUR)
            left = received
            while left > 0:
                chunk = min(left, rng.choice((6, 12, 12, 24)))
                repeats = 2 if left >= 2 * chunk and rng.random() < 0.5 else 1
                for _ in range(repeats):      # identical repeated receipt rows are legitimate units
                    _led(w, at, sku, "Receipts", shipment.sid, chunk, shipment.fc, shipment.country)
                left -= chunk * repeats
                at = min(at + dt.timedelta(seconds=rng.randrange(600, 20000)), now - HOUR)
    for r in w.removals:
        when, oid, _type, _status, sku, disp, _req, _cancelled, disposed, shipped, _in_process, mkt = r
        if shipped:
            _led(w, when + 3 * DAY, sku, "VendorReturns", oid, -shipped, mkt.fcs[0], mkt.country, disp.upper())
        if disposed:
            _led(w, when + 4 * DAY, sku, "Adjustments", oid, -disposed, mkt.fcs[0], mkt.country, "SELLABLE", "D")

    def adj(sku: Sku, when: dt.datetime, reason: str, qty: int, mkt: str, disp: str = "SELLABLE",
            rec: object = "", unrec: object = "") -> None:
        m = MARKETS[mkt]
        _led(w, when, sku, "Adjustments", _digits(rng, 10), qty, m.fcs[0], m.country, disp, reason, rec, unrec)

    # Planted: lost and unreimbursed (fc_lost open), including the expired one on SKU 1.
    for idx, days, mkt in ((0, 12, "US"), (1, 23, "US"), (2, 34, "DE"), (3, 47, "US"), (1, 75, "US")):
        qty = rng.randint(1, 3)
        adj(SKUS[idx], _ago(rng, now, days), "M", -qty, mkt, rec=0, unrec=qty)
    # Planted: lost, then reimbursed by a Lost_Warehouse reimbursement for the same FNSKU.
    for idx, days, mkt in ((4, 40, "US"), (5, 31, "DE")):
        qty, when, sku = rng.randint(1, 3), _ago(rng, now, days), SKUS[idx]
        adj(sku, when, "M", -qty, mkt, rec=0, unrec=qty)
        cur = MARKETS[mkt].currency
        _reimb(rng, w, when + dt.timedelta(days=rng.randrange(9, 12)), "Lost_Warehouse", sku, cur,
               _fair(rng, sku, cur), qty)
    # Planted: lost, then found.
    when, qty = _ago(rng, now, 33), 2
    adj(SKUS[6], when, "M", -qty, "US", rec=qty, unrec=0)
    adj(SKUS[6], when + 6 * DAY, "F", qty, "US")
    # Planted: damaged in the FC, unreimbursed, each with its P row.
    for idx, days, reason, mkt, disp in ((7, 15, "E", "US", "SELLABLE"), (8, 28, "6", "DE", "CARRIER_DAMAGED"),
                                         (9, 41, "H", "US", "CUSTOMER_DAMAGED")):
        qty, when = rng.randint(1, 2), _ago(rng, now, days)
        adj(SKUS[idx], when, reason, -qty, mkt, disp, rec=0, unrec=qty)
        adj(SKUS[idx], when + dt.timedelta(seconds=1), "P", qty, mkt, "WAREHOUSE_DAMAGED")
    # Routine, fully reconciled: misplaced then found.
    for idx, days, reason in ((5, 101, "M"), (8, 88, "5"), (2, 64, "M"), (0, 57, "5"), (9, 20, "M")):
        qty, when = rng.randint(1, 4), _ago(rng, now, days)
        adj(SKUS[idx], when, reason, -qty, "US", rec=qty, unrec=0)
        adj(SKUS[idx], when + dt.timedelta(days=rng.randrange(2, 9)), "F", qty, "US")
    # Routine, reconciled by reimbursement (FNSKUs without open lost rows).
    for idx, days in ((7, 95), (9, 62)):
        qty, when, sku = rng.randint(1, 2), _ago(rng, now, days), SKUS[idx]
        adj(sku, when, "M", -qty, "US", rec=qty, unrec=0)
        _reimb(rng, w, when + 8 * DAY, "Lost_Warehouse", sku, "USD", _fair(rng, sku, "USD"), qty)
    # Routine damaged rows, reconciled and reimbursed; the second pays 30% under cost (planted).
    for idx, days, reason, underpaid in ((0, 80, "K", False), (3, 40, "E", True)):
        qty, when, sku = 1, _ago(rng, now, days), SKUS[idx]
        adj(sku, when, reason, -qty, "US", "DEFECTIVE" if reason == "K" else "SELLABLE", rec=qty, unrec=0)
        adj(sku, when + dt.timedelta(seconds=1), "P", qty, "US", "WAREHOUSE_DAMAGED")
        pay = sku.cost * Decimal("0.7") if underpaid else _fair(rng, sku, "USD")
        _reimb(rng, w, when + 10 * DAY, "Damaged_Warehouse", sku, "USD", pay, qty, filed=underpaid)
    # Routine disposition changes (Q then P), corrections (O) and transfers in (N).
    for idx, days in ((4, 99), (6, 52), (1, 18)):
        when = _ago(rng, now, days)
        adj(SKUS[idx], when, "Q", -1, "DE")
        adj(SKUS[idx], when + dt.timedelta(seconds=1), "P", 1, "DE", "CUSTOMER_DAMAGED")
    for idx, days, reason, qty in ((2, 84, "O", -1), (7, 45, "N", 2), (5, 9, "N", 1), (8, 70, "O", -2)):
        adj(SKUS[idx], _ago(rng, now, days), reason, qty, "US")
    w.ledger.sort(key=lambda r: r[0])


def _make_inbound(rng: random.Random, w: World) -> None:
    shorted: list[Sku] = []
    for n, (days, mkt, status, short) in enumerate(INBOUND):
        m = MARKETS[mkt]
        delivered = _ago(rng, w.now, days, 6) if days is not None else None
        created = (delivered or w.now) - dt.timedelta(days=rng.randrange(8, 15))
        skus = rng.sample(SKUS, rng.randint(3, 5))
        while short and skus[0] in shorted:        # one short SKU per shipment, never shared
            skus = rng.sample(SKUS, len(skus))
        if short:
            shorted.append(skus[0])
        items = []
        for i, sku in enumerate(skus):
            shipped = rng.randrange(4, 11) * 12
            received = shipped
            if i == 0 and short:
                received = shipped - short
            elif status == "RECEIVING":
                received = shipped if i == 0 else shipped // 2
            elif status == "WORKING":
                received = 0
            items.append((sku, shipped, received))
        name = f"FBA ({created.month:02d}/{created.day:02d}/{created.year} {created:%H:%M}) - {n + 1}"
        w.inbound.append(Inbound("FBA15" + _code(rng, 7), name, status, delivered, rng.choice(m.fcs[:2]),
                                 m.country, items))
        if days == 44:      # partly covered by a Lost_Inbound reimbursement
            sku = skus[0]
            _reimb(rng, w, delivered + 34 * DAY, "Lost_Inbound", sku, m.currency, _fair(rng, sku, m.currency),
                   2, filed=True)


def _make_removals(rng: random.Random, w: World) -> None:
    for days, rtype, status, idx, disp, req, canc, disposed, shipped, inproc, mkt in REMOVALS:
        when = _ago(rng, w.now, days)
        w.removals.append((when, _code(rng, 10, string.ascii_letters + string.digits), rtype, status,
                           SKUS[idx], disp, req, canc, disposed, shipped, inproc, MARKETS[mkt]))


# ----------------------------------------------------------------------------- conversations


def _template(rng: random.Random, lang: str, category: str | None = None) -> tuple[str, str]:
    options = TEMPLATES[lang]
    if category is None:
        present = [c for c in CATEGORY_WEIGHTS if any(t[0] == c for t in options)]
        category = rng.choices(present, [CATEGORY_WEIGHTS[c] for c in present])[0]
    return category, rng.choice([t[1] for t in options if t[0] == category])


def _photo(rng: random.Random) -> tuple[str, str, bytes]:
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (f"IMG_{rng.randint(1000, 9999)}.jpg", "image/jpeg",
            head + rng.randbytes(rng.randint(300, 900)) + b"\xff\xd9")


def _timeline(rng: random.Random, conv: Conv, start: dt.datetime, n_buyer: int, replied: bool,
              now: dt.datetime, product: str, days: int) -> None:
    """Buyer messages and replies; answered messages get a reply within a day, others a follow-up."""
    t = start
    fill = {"product": product, "days": days}
    text = _template(rng, conv.lang, conv.category)[1].format(**fill)
    for i in range(n_buyer):
        if t >= now:
            break
        files = [_photo(rng)] if i == 0 and conv.category in DAMAGE and rng.random() < 0.5 else []
        conv.msgs.append((t, "in", text, files))
        answered = replied and (i == n_buyer - 1 or rng.random() < 0.6)
        if answered:
            reply_at = t + dt.timedelta(seconds=rng.randrange(1800, 26 * 3600))
            if reply_at >= now:
                break
            conv.msgs.append((reply_at, "out", "", []))
            t = reply_at + dt.timedelta(seconds=rng.randrange(3 * 3600, 3 * 86400))
            if conv.category in ("thanks", "question", "invoice") or rng.random() < 0.5:
                text = _template(rng, conv.lang, "thanks")[1].format(**fill)
            else:
                text = _template(rng, conv.lang, conv.category)[1].format(**fill)
        else:
            t = t + dt.timedelta(seconds=rng.randrange(5 * 3600, 3 * 86400))
            text = rng.choice(FOLLOWUPS[conv.lang])


def _make_conversations(rng: random.Random, w: World) -> None:
    """Support conversations over the 120 days; relay ones hang off real orders of their marketplace."""
    now = w.now
    codes = list(MARKETS)
    mweights = [MARKETS[c].weight for c in codes]
    by_mkt = {c: [o for o in w.orders if o.mkt.code == c and o.status != "Cancelled"] for c in codes}
    buyers: dict[str, tuple[str, str, str]] = {}       # order id -> (first, last, alias), stable per buyer

    def buyer(order: Order) -> tuple[str, str, str]:
        if order.oid not in buyers:
            first, last = rng.choice(NAMES[order.mkt.lang][0]), rng.choice(NAMES[order.mkt.lang][1])
            buyers[order.oid] = (first, last, _code(rng, 20, LOW_ALNUM))
        return buyers[order.oid]

    def person(lang: str) -> tuple[str, str, str]:
        first, last = rng.choice(NAMES[lang][0]), rng.choice(NAMES[lang][1])
        sep = rng.choice((".", "_", ""))
        return first, last, f"{_ascii(first)}{sep}{_ascii(last)}{rng.randrange(100) if rng.random() < 0.4 else ''}@{MAIL_DOMAIN[lang]}"

    def shape(recent: bool) -> tuple[int, bool]:
        n = rng.choices((1, 2, 3, 4), (45, 30, 17, 8))[0]
        return (min(n, 2), False) if recent else (n, rng.random() < 0.87)

    def start_time(recent: bool, after: dt.datetime | None = None) -> dt.datetime:
        """Recent ones fall in the last 3 days (the queue); others before that, after `after` if given."""
        if recent:
            lo = max(now - 3 * DAY, after or now - 3 * DAY)
            return _between(rng, min(lo, now - 2 * HOUR), now - HOUR)
        if after is not None:
            return _between(rng, after, min(after + 14 * DAY, now - 3 * DAY))
        return _between(rng, now - (WINDOW_DAYS - 2) * DAY, now - 3 * DAY)

    def order_for(orders: list[Order], recent: bool, min_age: dt.timedelta = 6 * HOUR) -> Order:
        lo, hi = (now - 20 * DAY, now - min_age) if recent else (now - WINDOW_DAYS * DAY, now - 3 * DAY - min_age)
        return rng.choice([o for o in orders if lo < o.purchased < hi])

    # The planted SELLABLE return whose buyer said it arrived broken.
    line = w.sellable_message_line
    if line is not None:
        first, last, alias = buyer(line.order)
        conv = Conv("relay", "en", first, last, f"{alias}@marketplace.amazon.com", line.order.oid,
                    RELAY_SUBJECT["en"].format(first=first, order=line.order.oid), "damaged", line.order.mkt)
        start = line.order.shipped + dt.timedelta(hours=rng.randrange(30, 60))
        conv.msgs.append((start, "in", f"The {line.sku.short} arrived broken, the glass lid shattered and "
                                       "the handle is cracked. I want to send it back.", [_photo(rng)]))
        conv.msgs.append((start + dt.timedelta(hours=5), "out", "", []))
        w.convs.append(conv)

    # (channel, conversations, of which in the last 3 days and unanswered): ~60% relay, 5% Amazon
    # notices, 15% Shopify, 10% TikTok, 10% plain e-mail; ~60 fill today's queue.
    plan = [("relay", 360, 36), ("notify", 30, 2), ("shopify", 90, 9), ("tiktok", 60, 6), ("plain", 60, 7)]
    returned = {r.line.order.oid for r in w.returns}
    shop_no = 1001
    for channel, total, recent_n in plan:
        for k in range(total):
            recent = k < recent_n
            n_buyer, replied = shape(recent)
            start = start_time(recent) if channel in ("shopify", "tiktok", "plain") else now
            if channel == "relay":
                mkt = MARKETS[rng.choices(codes, mweights)[0]]
                order = order_for(by_mkt[mkt.code], recent)
                start = start_time(recent, order.purchased + 6 * HOUR)
                first, last, alias = buyer(order)
                category = _template(rng, mkt.lang)[0]
                if category in DAMAGE and any(l.sellable_return for l in order.lines):
                    category = "question"       # keep damage talk off orders graded SELLABLE
                conv = Conv("relay", mkt.lang, first, last, f"{alias}@marketplace.amazon.{mkt.tld}", order.oid,
                            RELAY_SUBJECT[mkt.lang].format(first=first, order=order.oid), category, mkt)
                days = max(1, (start - order.purchased).days)
                _timeline(rng, conv, start, n_buyer, replied, now, order.lines[0].sku.short, days)
            elif channel == "notify":
                kind = ("atoz", "chargeback", "return")[0 if k % 3 == 0 else (1 if k % 3 == 1 and k < 24 else 2)]
                us = [o for o in by_mkt["US"] if o.status == "Shipped" and (o.oid in returned) == (kind == "return")]
                order = order_for(us, recent, 4 * DAY)
                conv = _notification(rng, kind, order, start_time(recent, order.purchased + 4 * DAY))
            elif channel == "shopify":
                lang = rng.choices(list(MAIL_DOMAIN), (70, 15, 5, 5, 5))[0]
                first, last, addr = person(lang)
                category = _template(rng, lang)[0]
                conv = Conv("shopify", lang, first, last, addr, f"#{shop_no}", "New customer message on Alpine Kitchen",
                            category)
                shop_no += rng.randint(2, 9)
                _timeline(rng, conv, start, n_buyer, replied, now, rng.choice(SKUS).short, rng.randint(2, 9))
            elif channel == "tiktok":
                first, last, _addr = person("en")
                nick = f"{_ascii(first)}_{rng.choice(TIKTOK_WORDS)}{rng.randrange(10, 99)}"
                oid = "576" + _digits(rng, 15)
                conv = Conv("tiktok", "en", nick, last, "no-reply@seller.tiktokshop.com", oid,
                            f"New message from buyer {nick} about order {oid}", _template(rng, "en")[0])
                _timeline(rng, conv, start, n_buyer, replied, now, rng.choice(SKUS).short, rng.randint(2, 9))
            else:
                lang = rng.choices(list(MAIL_DOMAIN), (45, 25, 10, 10, 10))[0]
                first, last, addr = person(lang)
                conv = Conv("plain", lang, first, last, addr, "", rng.choice(PLAIN_SUBJECTS[lang]),
                            _template(rng, lang)[0])
                _timeline(rng, conv, start, n_buyer, replied, now, rng.choice(SKUS).short, rng.randint(2, 9))
                if k < 3:
                    _make_hostile(conv, k)
            w.convs.append(conv)


def _make_hostile(conv: Conv, k: int) -> None:
    """Strings a terminal UI must render inertly: Rich markup, an OSC escape, a path-traversal name."""
    when, _direction, text, files = conv.msgs[0]
    if k == 0:
        conv.subject = "[bold]URGENT[/] where is my order?? [red]answer now[/red]"
    elif k == 1:
        text = "Hello\x1b]0;PWNED\x07, my order never arrived and nobody answers. \x1b[2J Where is my order?"
    else:
        files = [("../../evil.pdf", "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n")]
        text = "Please see the attached invoice, the item was damaged."
    conv.msgs[0] = (when, "in", text, files)


def _notification(rng: random.Random, kind: str, order: Order, when: dt.datetime) -> Conv:
    """Amazon A-to-z, chargeback and return-authorization notices about real US orders."""
    line = order.lines[0]
    total = f"{line.price + line.tax:.2f}"
    if kind == "atoz":
        conv = Conv("notify", "en", "Amazon A-to-z Guarantee", "", "atoz-guarantee-no-reply@amazon.com", order.oid,
                    f"Immediate Attention Required: A-to-z Guarantee Claim against Amazon.com order {order.oid}", "atoz")
        body = (f"Dear {SELLER},\n\nA buyer has filed an A-to-z Guarantee claim for order {order.oid}.\n\n"
                f"Claim reason: {rng.choice(('Item not received', 'Item not as described'))}\n"
                f"Claim amount: USD {total}\nItem: {line.sku.title}\n\n"
                "Please respond within 3 calendar days in Seller Central (Performance > A-to-z Guarantee Claims).\n"
                "If we do not hear from you, we may decide the claim without your input.\n\nSincerely,\nAmazon Services\n")
    elif kind == "chargeback":
        conv = Conv("notify", "en", "", "", "cb-seller-notification@amazon.com", order.oid,
                    f"Chargeback notification for order {order.oid}", "chargeback")
        body = (f"Dear Seller,\n\nWe have received a chargeback request from the buyer's credit card issuer for "
                f"order {order.oid}.\n\nChargeback amount: USD {total}\n"
                f"Reason: {rng.choice(('Unauthorized transaction', 'Merchandise not received'))}\n\n"
                "Please provide the information requested within 7 days using the Chargeback Claims page.\n\n"
                "Thank you for selling with Amazon.\n")
    else:
        conv = Conv("notify", "en", "", "", "return@amazon.com", order.oid,
                    f"Return authorization notification for Order # {order.oid}", "return")
        body = (f"Dear {SELLER},\n\nThis is to notify you that a return authorization has been issued for "
                f"Order #: {order.oid}\n\nItem: {line.sku.title}\nQuantity: {line.qty}\n"
                f"Return reason: {rng.choice(RETURN_NOTICE_REASONS)}\n\n"
                "The buyer will ship the item to an Amazon fulfillment center; no action is required.\n\n"
                "Sincerely,\nAmazon Services\n")
    conv.msgs.append((when, "in", body, []))
    return conv


# ----------------------------------------------------------------------------- mail rendering


class _Ids:
    """Message-IDs and MIME boundaries drawn from the seeded Random, never from time or os.urandom."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set()

    def msgid(self, domain: str) -> str:
        while True:
            value = f"<{self.rng.getrandbits(64):016x}.{self.rng.getrandbits(40):010x}@{domain}>"
            if value not in self.used:
                self.used.add(value)
                return value

    def seal(self, msg: EmailMessage) -> EmailMessage:
        for part in msg.walk():
            if part.is_multipart():
                part.set_boundary(f"=_ak_{self.rng.getrandbits(96):024x}")
        return msg


def _relay_body(words: str, tld: str) -> str:
    return ("------------- Begin message -------------\n\n"
            f"{words}\n\n"
            "------------- End message -------------\n\n"
            "For Your Information: To help arbitrate disputes and preserve trust and safety, we retain all "
            f"messages buyers and sellers send through Amazon.{tld} for two years. This includes your response "
            "to the message below. Amazon uses filtering technology to protect buyers and sellers from possible "
            "fraud. Messages that fail this filtering will not be transmitted.\n\n"
            f"We want you to buy with confidence anytime you purchase products on Amazon.{tld}. Learn more about "
            "Safe Online Shopping and our safe buying guarantee.\n\n"
            "Was this email helpful? Tell us in Seller Central.\n")


def _reply_text(conv: Conv) -> str:
    r = REPLIES[conv.lang]
    ref = r["order"].format(order=conv.ref) if conv.ref else ""
    return (f"{r['hello'].format(first=conv.first)}\n\n{r['ref'].format(ref=ref)} "
            f"{r[REPLY_GROUP.get(conv.category, 'info')]}\n\n{r['bye']}\n")


def _tz_for(lang: str, when: dt.datetime) -> dt.timezone:
    summer = 4 <= when.month <= 10
    if lang == "en":
        return dt.timezone(dt.timedelta(hours=-4 if summer else -5))
    return dt.timezone(dt.timedelta(hours=2 if summer else 1))


def _words(text: str) -> str:
    """RFC 2047: encode only the runs of non-ASCII words, so subjects stay greppable (and fast to fold)."""
    if text.isascii():
        return text
    out: list[str] = []
    run: list[str] = []
    for token in text.split(" ") + [""]:
        if token and not token.isascii():
            run.append(token)
            continue
        if run:     # one encoded phrase per run: spaces inside it survive decoding
            phrase, chunks, chunk = " ".join(run), [], ""
            for ch in phrase:
                if len((chunk + ch).encode()) > 42:
                    chunks.append(chunk)
                    chunk = ""
                chunk += ch
            chunks.append(chunk)
            out.append("\n ".join(f"=?utf-8?b?{base64.b64encode(c.encode()).decode()}?=" for c in chunks))
            run = []
        out.append(token)
    return " ".join(out[:-1])


def _addr(name: str, addr: str) -> str:
    if not name:
        return addr
    if not name.isascii():
        return f"{_words(name)} <{addr}>"
    return formataddr((name, addr)) if '"' in name or "\\" in name else f'"{name}" <{addr}>'


def _build(ids: _Ids, sender: tuple[str, str], to: tuple[str, str], subject: str, when: dt.datetime,
           domain: str, text: str, html_text: str | None = None, files: list | None = None,
           reply_to: tuple[str, str] | None = None, in_reply_to: str | None = None,
           local_tz: dt.timezone | None = None) -> tuple[str, EmailMessage]:
    """One message. compat32 + pre-encoded headers: same MIME output, a fraction of the time."""
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = _addr(*sender)
    msg["To"] = _addr(*to)
    if reply_to is not None:
        msg["Reply-To"] = _addr(*reply_to)
    msg["Subject"] = _words(subject)
    msg["Date"] = format_datetime(when.astimezone(local_tz) if local_tz else when)
    mid = ids.msgid(domain)
    msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(text, content_manager=raw_data_manager, cte="8bit")
    if html_text is not None:
        msg.add_alternative(html_text, subtype="html", content_manager=raw_data_manager, cte="8bit")
    for name, ctype, data in files or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name,
                           content_manager=raw_data_manager)
    return mid, ids.seal(msg)


def _render(rng: random.Random, w: World) -> list[tuple[dt.datetime, str, bytes]]:
    """Every conversation as mbox entries (time, envelope sender, message bytes), oldest first."""
    ids = _Ids(rng)
    support, inbox = (SUPPORT_NAME, SUPPORT), ("", SUPPORT)
    own = "alpinekitchen.example"
    out = []
    for conv in w.convs:
        last_in: str | None = None
        last_out: str | None = None
        customer = (f"{conv.first} {conv.last}", conv.addr)
        for when, direction, text, files in conv.msgs:
            if direction == "out":
                to = {"relay": ("", conv.addr), "tiktok": ("TikTok Shop", conv.addr)}.get(conv.channel, customer)
                subject = "Re: Your message to Alpine Kitchen" if conv.channel == "shopify" else "Re: " + conv.subject
                last_out, msg = _build(ids, support, to, subject, when, own, _reply_text(conv), in_reply_to=last_in)
                sender = SUPPORT
            elif conv.channel == "relay":
                body, alt = _relay_body(text, conv.mkt.tld), None
                if rng.random() < 0.3:
                    alt = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n")
                                                   if p.strip()) + "</body></html>\n"
                last_in, msg = _build(ids, (f"{conv.first} - Amazon Marketplace", conv.addr), inbox, conv.subject,
                                      when, "email.amazonses.com", body, alt, files)
                sender = conv.addr
            elif conv.channel == "notify":
                display = "Amazon A-to-z Guarantee" if conv.addr.startswith("atoz") else ""
                last_in, msg = _build(ids, (display, conv.addr), inbox, conv.subject, when, "amazon.com", text)
                sender = conv.addr
            elif conv.channel == "shopify" and last_out is None:
                body = (f"You received a new message from your online store's contact form.\n\n"
                        f"Name: {conv.first} {conv.last}\nEmail: {conv.addr}\nOrder: {conv.ref}\nMessage: {text}\n")
                last_in, msg = _build(ids, ("Shopify", "mailer@shopify.com"), inbox, conv.subject, when,
                                      "shopify.com", body, files=files, reply_to=customer)
                sender = "mailer@shopify.com"
            elif conv.channel == "tiktok":
                body = (f"Buyer {conv.first} sent you a message about order {conv.ref}:\n\n\"{text}\"\n\n"
                        "Reply in TikTok Shop Seller Center or answer this e-mail.\n")
                last_in, msg = _build(ids, ("TikTok Shop", conv.addr), inbox, conv.subject, when,
                                      "seller.tiktokshop.com", body, files=files)
                sender = conv.addr
            else:   # plain e-mail, or a Shopify customer answering our reply directly
                base = "Your message to Alpine Kitchen" if conv.channel == "shopify" else conv.subject
                subject = "Re: " + base if last_out else base
                last_in, msg = _build(ids, customer, inbox, subject, when, "mail." + MAIL_DOMAIN[conv.lang],
                                      f"{text}\n\n{conv.first}\n", files=files, in_reply_to=last_out, local_tz=_tz_for(conv.lang, when))
                sender = conv.addr
            out.append((when, sender, msg.as_bytes(policy=MAIL_OUT_POLICY)))
    out.sort(key=lambda item: item[0])
    return out


def _asctime(when: dt.datetime) -> str:
    return f"{WEEKDAYS[when.weekday()]} {MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S} {when.year}"


def _write_mbox(path: pathlib.Path, w: World, rng: random.Random) -> None:
    """Classic mboxo: `From ` separator lines, body `From ` lines quoted as `>From `, blank line after each."""
    with path.open("wb") as fh:
        for when, sender, data in _render(rng, w):
            fh.write(f"From {sender} {_asctime(when)}\n".encode("ascii"))
            data = data.replace(b"\nFrom ", b"\n>From ")
            fh.write(data if data.endswith(b"\n") else data + b"\n")
            fh.write(b"\n")


# ----------------------------------------------------------------------------- file writers


ORDERS_HEADER = ("amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\t"
                 "fulfillment-channel\tsales-channel\torder-channel\turl\tship-service-level\tproduct-name\tsku\t"
                 "asin\titem-status\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\t"
                 "gift-wrap-price\tgift-wrap-tax\titem-promotion-discount\tship-promotion-discount\tship-city\t"
                 "ship-state\tship-postal-code\tship-country\tpromotion-ids\tis-business-order\t"
                 "purchase-order-number\tprice-designation")


def _write_orders(path: pathlib.Path, w: World) -> None:
    rows = []
    for o in w.orders:
        item_status = {"Shipped": "Shipped", "Cancelled": "Cancelled", "Pending": "Unshipped"}[o.status]
        for line in o.lines:
            money = ["", "", "", "", "", "", "", ""] if o.status == "Cancelled" else [
                f"{line.price:.2f}", f"{line.tax:.2f}", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"]
            city, state, postal = o.city
            rows.append([o.oid, "", _iso(o.purchased), _iso(o.updated), o.status, o.channel, o.mkt.channel, "", "",
                         o.level, line.sku.title, line.sku.sku, line.sku.asin, item_status, line.qty,
                         o.mkt.currency, *money, city, state, postal, o.mkt.country, "", "false", "", ""])
    _write_tsv(path, ORDERS_HEADER, rows)


FULFILLED_SHIPMENTS_HEADER = (
    "amazon-order-id\tmerchant-order-id\tshipment-id\tshipment-item-id\tamazon-order-item-id\t"
    "merchant-order-item-id\tpurchase-date\tpayments-date\tshipment-date\treporting-date\tbuyer-email\t"
    "buyer-name\tbuyer-phone-number\tsku\tproduct-name\tquantity-shipped\tcurrency\titem-price\titem-tax\t"
    "shipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\tship-service-level\trecipient-name\t"
    "ship-address-1\tship-address-2\tship-address-3\tship-city\tship-state\tship-postal-code\tship-country\t"
    "ship-phone-number\tbill-address-1\tbill-address-2\tbill-address-3\tbill-city\tbill-state\t"
    "bill-postal-code\tbill-country\titem-promotion-discount\tship-promotion-discount\tcarrier\t"
    "tracking-number\testimated-arrival-date\tfulfillment-center-id\tfulfillment-channel\tsales-channel")
CARRIERS = {"US": "AMZN_US", "UK": "Royal Mail", "DE": "DHL", "IT": "BRT", "FR": "Colissimo", "ES": "Correos"}


def _write_fulfilled_shipments(path: pathlib.Path, w: World, rng: random.Random) -> None:
    """Amazon Fulfilled Shipments for the FBA orders that left the FC; buyer columns left empty,
    as in the reports Amazon now sends without PII access."""
    rows = []
    for o in w.orders:
        if o.channel != "Amazon" or o.shipped is None:
            continue
        days = rng.randint(1, 2) if o.level == "Expedited" else rng.randint(2, 5)
        arrival = (o.shipped + days * DAY).replace(hour=20, minute=0, second=0)
        tracking = "TBA" + _digits(rng, 12) if o.mkt.code in ("US", "UK") else _digits(rng, 14)
        city, state, postal = o.city
        for n, line in enumerate(o.lines):
            rows.append([o.oid, "", o.ship_ref, f"{o.ship_ref}{n + 1:02d}", line.item_code, "", _iso(o.purchased),
                         _iso(o.purchased), _iso(o.shipped), _iso(o.shipped + HOUR), "", "", "", line.sku.sku,
                         line.sku.title, line.qty, o.mkt.currency, f"{line.price:.2f}", f"{line.tax:.2f}", "0.00",
                         "0.00", "0.00", "0.00", o.level, "", "", "", "", city, state, postal, o.mkt.country,
                         "", "", "", "", "", "", "", "", "0.00", "0.00", CARRIERS.get(o.mkt.code, "UPS"), tracking,
                         _iso(arrival), o.fc, "Amazon", o.mkt.channel])
    _write_tsv(path, FULFILLED_SHIPMENTS_HEADER, rows)


def _write_returns(path: pathlib.Path, w: World) -> None:
    header = ("return-date\torder-id\tsku\tasin\tfnsku\tproduct-name\tquantity\tfulfillment-center-id\t"
              "detailed-disposition\treason\tstatus\tlicense-plate-number\tcustomer-comments")
    rows = [[_iso(r.when), r.line.order.oid, r.line.sku.sku, r.line.sku.asin, r.line.sku.fnsku, r.line.sku.title,
             r.line.qty, r.fc, r.disposition, r.reason, r.status, r.lpn, r.comments] for r in w.returns]
    _write_tsv(path, header, rows)


def _write_ledger(path: pathlib.Path, w: World) -> None:
    header = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
              "Disposition\tReason\tCountry\tReconciled Quantity\tUnreconciled Quantity\tDate and Time")
    rows = [[when.strftime("%m/%d/%Y"), sku.fnsku, sku.asin, sku.sku, sku.title, event, ref, qty, fc, disp,
             reason, country, rec, unrec, _iso(when)]
            for when, sku, event, ref, qty, fc, disp, reason, country, rec, unrec in w.ledger]
    _write_tsv(path, header, rows)


def _write_ledger_summary(path: pathlib.Path, w: World) -> None:
    """Monthly balances per FNSKU and country, derived from the detail rows so the two agree."""
    header = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tDisposition\tStarting Warehouse Balance\tIn Transit Between "
              "Warehouses\tReceipts\tCustomer Shipments\tCustomer Returns\tVendor Returns\tWarehouse Transfer "
              "In/Out\tFound\tLost\tDamaged\tDisposed\tOther Events\tEnding Warehouse Balance\tUnknown Events\t"
              "Location")
    column = {"Receipts": 0, "Shipments": 1, "CustomerReturns": 2, "VendorReturns": 3}
    reason_col = {"F": 4, "N": 4, "M": 5, "5": 5, "E": 6, "6": 6, "7": 6, "H": 6, "K": 6, "U": 6, "D": 7}
    first = w.now - WINDOW_DAYS * DAY
    months = []
    y, m = first.year, first.month
    while (y, m) <= (w.now.year, w.now.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    countries = [c for c in ("US", "GB", "DE", "IT", "FR", "ES") if any(r[8] == c for r in w.ledger)]
    totals: dict[tuple, list[int]] = {}
    for when, sku, event, _ref, qty, _fc, _disp, reason, country, _rec, _unrec in w.ledger:
        col = column.get(event, reason_col.get(reason, 8) if event == "Adjustments" else 8)
        totals.setdefault((sku.sku, country, when.year, when.month), [0] * 9)[col] += qty
    rows = []
    for sku in SKUS:
        for country in countries:
            nets = [sum(totals.get((sku.sku, country, y, m), [0])) for y, m in months]
            running, low = 0, 0
            for net in nets:
                running += net
                low = min(low, running)
            balance = 40 - low
            for (y, m), net in zip(months, nets):
                c = totals.get((sku.sku, country, y, m), [0] * 9)
                rows.append([f"{m:02d}/01/{y}", sku.fnsku, sku.asin, sku.sku, sku.title, "SELLABLE", balance, 0,
                             c[0], c[1], c[2], c[3], 0, c[4], c[5], c[6], c[7], c[8], balance + net, 0, country])
                balance += net
    _write_tsv(path, header, rows)


def _write_reimbursements(path: pathlib.Path, w: World) -> None:
    header = ("approval-date\treimbursement-id\tcase-id\tamazon-order-id\treason\tsku\tfnsku\tasin\tproduct-name\t"
              "condition\tcurrency-unit\tamount-per-unit\tamount-total\tquantity-reimbursed-cash\t"
              "quantity-reimbursed-inventory\tquantity-reimbursed-total\toriginal-reimbursement-id\t"
              "original-reimbursement-type")
    rows = [[_iso(r.when), r.rid, r.case_id, r.oid, r.reason, r.sku.sku, r.sku.fnsku, r.sku.asin, r.sku.title,
             r.condition, r.currency, f"{r.per_unit:.2f}", f"{r.per_unit * r.qty_cash:.2f}", r.qty_cash, r.qty_inv,
             r.qty_cash + r.qty_inv, "", ""]
            for r in sorted(w.reimbs, key=lambda r: (r.when, r.rid))]
    _write_tsv(path, header, rows)


def _fees(line: Line) -> tuple[Decimal, Decimal]:
    """Referral commission (15%) and the FBA fee for a line, as positive numbers."""
    fba = line.sku.fba_fee * line.qty if line.order.channel == "Amazon" else Decimal(0)
    return _money(line.price * Decimal("0.15")), fba


def _write_settlement(path: pathlib.Path, w: World, rng: random.Random) -> None:
    """US settlement V2 (long format), biweekly, closed periods only."""
    header = ("settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\t"
              "transaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\t"
              "amount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\t"
              "order-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\t"
              "promotion-id")
    anchor = dt.datetime.combine((w.now - (WINDOW_DAYS + 1) * DAY).date(), dt.time(7, 11, 52), UTC)
    events: list[tuple] = []
    for line in w.lines:
        o = line.order
        if o.mkt.code == "US" and o.status == "Shipped":
            commission, fba = _fees(line)
            parts = [("ItemPrice", "Principal", line.price), ("ItemPrice", "Tax", line.tax),
                     ("ItemFees", "Commission", -commission)]
            if fba:
                parts.append(("ItemFees", "FBAPerUnitFulfillmentFee", -fba))
            events.append((o.shipped, "Order", line, "", parts))
    for refund in w.refunds:
        line = refund.line
        if line.order.mkt.code == "US":
            commission, _fba = _fees(line)
            parts = [("ItemPrice", "Principal", -line.price), ("ItemFees", "Commission", commission),
                     ("ItemFees", "RefundCommission", -min(Decimal("5.00"), _money(commission * Decimal("0.2"))))]
            events.append((refund.when, "Refund", line, refund.adjustment_id, parts))
    events.sort(key=lambda e: (e[0], e[2].item_code))
    rows = []
    for start, end in _periods(anchor, w.now, closed_only=True):
        sid = _digits(rng, 11)
        inside = [e for e in events if start <= e[0] < end]
        body = []
        total = Decimal(0)
        for when, ttype, line, adj_id, parts in inside:
            o = line.order
            for atype, desc, amount in parts:
                total += amount
                body.append([sid, "", "", "", "", "", ttype, o.oid, "", adj_id, o.ship_ref if ttype == "Order" else "",
                             "Amazon.com", atype, desc, f"{amount:.2f}", "AFN" if o.channel == "Amazon" else "MFN",
                             when.strftime("%Y-%m-%d"), _utc_text(when), line.item_code, "", "", line.sku.sku,
                             line.qty if ttype == "Order" else "", ""])
        fee_at = start + 3 * DAY
        total += Decimal("-39.99")
        body.append([sid, "", "", "", "", "", "other-transaction", "", "", "", "", "Amazon.com", "other-transaction",
                     "Subscription Fee", "-39.99", "", fee_at.strftime("%Y-%m-%d"), _utc_text(fee_at), "", "", "", "",
                     "", ""])
        rows.append([sid, _utc_text(start), _utc_text(end), _utc_text(end + 2 * DAY), f"{total:.2f}", "USD",
                     *[""] * 18])
        rows.extend(body)
    _write_tsv(path, header, rows)


DATE_RANGE_PREAMBLE = (
    '"Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions"',
    '"All amounts in EUR, unless specified"',
    '"Definitions:"',
    '"Sales tax collected: Includes sales tax collected from buyers for product sales, shipping, and gift wrap."',
    '"Selling fees: Includes variable closing fees and referral fees."',
    '"Other transaction fees: Includes shipping chargebacks, shipping holdbacks, per-item fees  and sales tax '
    'collection fees."',
    '"Other: Includes non-order transaction amounts. For more details, see the "Type" and "Description" columns '
    'for each order ID."',
)
DATE_RANGE_HEADER = ("date/time", "settlement id", "type", "order id", "sku", "description", "quantity",
                     "marketplace", "account type", "fulfillment", "order city", "order state", "order postal",
                     "tax collection model", "product sales", "product sales tax", "shipping credits",
                     "shipping credits tax", "gift wrap credits", "giftwrap credits tax", "Regulatory Fee",
                     "Tax On Regulatory Fee", "promotional rebates", "promotional rebates tax",
                     "marketplace withheld tax", "selling fees", "fba fees", "other transaction fees", "other",
                     "total")


def _write_date_range(path: pathlib.Path, w: World, rng: random.Random) -> None:
    """The EU account's Date Range transaction CSV: BOM, preamble, all fields quoted, CRLF, decimal comma."""
    anchor = dt.datetime.combine((w.now - (WINDOW_DAYS + 3) * DAY).date(), dt.time(2, 40, 11), UTC)
    periods = [(start, end, _digits(rng, 11)) for start, end in _periods(anchor, w.now + 14 * DAY, False)]
    zero = _eu(Decimal(0))
    events: list[tuple] = []
    for line in w.lines:
        o = line.order
        if o.mkt.code in EU_DATE_RANGE and o.status == "Shipped":
            events.append((o.shipped, "Order", line))
    for refund in w.refunds:
        if refund.line.order.mkt.code in EU_DATE_RANGE:
            events.append((refund.when, "Refund", refund.line))
    first = w.now - WINDOW_DAYS * DAY
    month = first.replace(day=2, hour=3, minute=5, second=0)
    while month < w.now:
        if month < first:
            month = (month.replace(day=28) + 5 * DAY).replace(day=2)
            continue
        events.append((month, "Service Fee", None))
        month = (month.replace(day=28) + 5 * DAY).replace(day=2)
    events.sort(key=lambda e: (e[0], e[2].item_code if e[2] else ""))
    rows = []
    for when, ttype, line in events:
        sid = next(s for start, end, s in periods if start <= when < end)
        stamp = f"{when.day} {MONTHS[when.month - 1]} {when.year} {when:%H:%M:%S} UTC"
        if line is None:
            fee = Decimal("-39.00")
            rows.append([stamp, sid, ttype, "", "", "Subscription", "", "", "", "", "", "", "", "",
                         *[zero] * 14, _eu(fee), _eu(fee)])
            continue
        o = line.order
        commission, fba = _fees(line)
        if ttype == "Order":
            sales, selling, fba_fee = line.price, -commission, -fba
        else:
            sales, fba_fee = -line.price, Decimal(0)
            selling = commission - min(Decimal("5.00"), _money(commission * Decimal("0.2")))
        total = sales + selling + fba_fee
        city, state, postal = o.city
        rows.append([stamp, sid, ttype, o.oid, line.sku.sku, line.sku.title, line.qty, o.mkt.channel.lower(),
                     "Standard Orders", "Amazon" if o.channel == "Amazon" else "Seller", city, state, postal, "",
                     _eu(sales), zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, _eu(selling),
                     _eu(fba_fee), zero, zero, _eu(total)])
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        for line_text in DATE_RANGE_PREAMBLE:
            fh.write(line_text + "\r\n")
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(DATE_RANGE_HEADER)
        writer.writerows(rows)


def _write_removal_orders(path: pathlib.Path, w: World) -> None:
    header = ("request-date\torder-id\torder-type\torder-status\tlast-updated-date\tsku\tfnsku\tdisposition\t"
              "requested-quantity\tcancelled-quantity\tdisposed-quantity\tshipped-quantity\tin-process-quantity\t"
              "removal-fee\tcurrency")
    rows = []
    for when, oid, rtype, status, sku, disp, req, canc, disposed, shipped, inproc, mkt in w.removals:
        fee = Decimal("0.97") * (disposed + shipped) if rtype == "Return" else Decimal("0.52") * disposed
        rows.append([_iso(when), oid, rtype, status, _iso(min(w.now, when + 4 * DAY)), sku.sku, sku.fnsku, disp,
                     req, canc, disposed, shipped, inproc, f"{fee:.2f}", mkt.currency])
    _write_tsv(path, header, rows)


def _write_removal_shipments(path: pathlib.Path, w: World, rng: random.Random) -> None:
    header = ("request-date\torder-id\tshipment-date\tsku\tfnsku\tdisposition\tshipped-quantity\tcarrier\t"
              "tracking-number\tremoval-order-type")
    rows = [[_iso(when), oid, _iso(when + 3 * DAY), sku.sku, sku.fnsku, disp, shipped, "UPS",
             "1Z" + _code(rng, 16), rtype]
            for when, oid, rtype, _st, sku, disp, _r, _c, _d, shipped, _i, _m in w.removals if shipped]
    _write_tsv(path, header, rows)


def _write_inbound(path: pathlib.Path, w: World) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["shipment-id", "shipment-name", "status", "delivered-date", "sku", "fnsku",
                         "quantity-shipped", "quantity-received"])
        for s in w.inbound:
            for sku, shipped, received in s.items:
                writer.writerow([s.sid, s.name, s.status, s.delivered.strftime("%Y-%m-%d") if s.delivered else "",
                                 sku.sku, sku.fnsku, shipped, received])


def _write_costs(path: pathlib.Path, w: World) -> None:
    effective = (w.now - 200 * DAY).strftime("%Y-%m-%d")
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sku", "unit_cost", "currency", "marketplace", "effective_date"])
        for i, sku in enumerate(SKUS):
            writer.writerow([sku.sku, f"{sku.cost:.2f}", "USD", "US" if i % 3 == 0 else "", effective])
        for currency in ("GBP", "EUR"):  # the European account keeps its costs in its own currencies
            for sku in SKUS:
                cost = _money(sku.cost * sku.prices[currency] / sku.prices["USD"])
                writer.writerow([sku.sku, f"{cost:.2f}", currency, "", effective])


# ----------------------------------------------------------------------------- entry point


def generate_files(out_dir: pathlib.Path, *, seed: int, now: dt.datetime) -> list[pathlib.Path]:
    """Write the demo files into out_dir (created if missing); return their paths in a stable order."""
    now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)

    def sub(part: str) -> random.Random:
        # One stream per part: changing one file's generator leaves the others' output alone.
        return random.Random(f"deskterm-demo:{seed}:{part}")

    w = World(now, _make_orders(sub("orders"), now))
    _make_returns(sub("returns"), w)
    _make_inbound(sub("inbound"), w)
    _make_removals(sub("removals"), w)
    _make_ledger(sub("ledger"), w)
    _make_conversations(sub("conversations"), w)

    out_dir = pathlib.Path(out_dir)
    (out_dir / "mail").mkdir(parents=True, exist_ok=True)
    writers = [
        ("all_orders.txt", lambda p: _write_orders(p, w)),
        ("amazon_fulfilled_shipments.txt", lambda p: _write_fulfilled_shipments(p, w, sub("shipments"))),
        ("fba_customer_returns.txt", lambda p: _write_returns(p, w)),
        ("inventory_ledger_detail.txt", lambda p: _write_ledger(p, w)),
        ("inventory_ledger_summary.txt", lambda p: _write_ledger_summary(p, w)),
        ("reimbursements.txt", lambda p: _write_reimbursements(p, w)),
        ("settlement_v2.txt", lambda p: _write_settlement(p, w, sub("settlement"))),
        ("date_range_transactions_DE.csv", lambda p: _write_date_range(p, w, sub("date-range"))),
        ("removal_order_detail.txt", lambda p: _write_removal_orders(p, w)),
        ("removal_shipment_detail.txt", lambda p: _write_removal_shipments(p, w, sub("removal-shipments"))),
        ("inbound_shipments.csv", lambda p: _write_inbound(p, w)),
        ("sourcing_costs.csv", lambda p: _write_costs(p, w)),
        ("mail/support-inbox.mbox", lambda p: _write_mbox(p, w, sub("mail"))),
    ]
    paths = []
    for name, write in writers:
        path = out_dir / name
        write(path)
        paths.append(path)
    return paths
