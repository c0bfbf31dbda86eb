"""The text to paste into Seller Central's case form, in the marketplace's language.

Each text says what happened, names every identifier Amazon's form asks for, and asks for the
reimbursement; the facts come from the claim, never from free text a buyer wrote.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "it", "de", "fr", "es")
LANGUAGE_NAMES = {"en": "English", "it": "Italiano", "de": "Deutsch", "fr": "Français", "es": "Español"}

# What happened, per kind and language. Fields: qty, sku, fnsku, order_id, shipment_id, date,
# reference, lpn, reimbursement, paid, unit_value, currency.
WHAT = {
    "en": {
        "fc_lost": "{qty} unit(s) of FNSKU {fnsku} (SKU {sku}) were reported lost in your fulfilment centre on "
                   "{date} (ledger Reference ID {reference}) and have not been found or reimbursed.",
        "fc_damaged": "{qty} unit(s) of FNSKU {fnsku} (SKU {sku}) were damaged in your fulfilment centre on {date} "
                      "(ledger Reference ID {reference}) and have not been reimbursed.",
        "inbound_shortfall": "Shipment {shipment_id} is closed, but {qty} unit(s) of SKU {sku} (FNSKU {fnsku}) that "
                             "we shipped were not received; it was delivered on {date}.",
        "return_not_received": "Order {order_id} was refunded on {date} for {qty} unit(s) of SKU {sku}, and the item "
                               "has not been returned to a fulfilment centre.",
        "return_damaged": "The return of order {order_id} (LPN {lpn}, {qty} unit(s) of SKU {sku}) arrived damaged "
                          "and was not reimbursed; the customer was refunded on {date}.",
        "return_sellable_dispute": "The return of order {order_id} (LPN {lpn}, SKU {sku}) was graded SELLABLE, but "
                                   "the customer reported the item damaged or defective.",
        "reimbursement_underpaid": "Reimbursement {reimbursement} of {date} paid {paid} {currency} per unit for {qty} "
                                   "unit(s) of SKU {sku}; our documented unit cost is {unit_value} {currency}.",
    },
    "it": {
        "fc_lost": "{qty} unità dell'FNSKU {fnsku} (SKU {sku}) risultano smarrite nel centro logistico il {date} "
                   "(ID di riferimento del registro {reference}) e non sono state ritrovate né rimborsate.",
        "fc_damaged": "{qty} unità dell'FNSKU {fnsku} (SKU {sku}) sono state danneggiate nel centro logistico il "
                      "{date} (ID di riferimento del registro {reference}) e non sono state rimborsate.",
        "inbound_shortfall": "La spedizione {shipment_id} è chiusa, ma {qty} unità dello SKU {sku} (FNSKU {fnsku}) "
                             "che abbiamo spedito non sono state ricevute; è stata consegnata il {date}.",
        "return_not_received": "L'ordine {order_id} è stato rimborsato il {date} per {qty} unità dello SKU {sku} e "
                               "l'articolo non è stato restituito a un centro logistico.",
        "return_damaged": "Il reso dell'ordine {order_id} (LPN {lpn}, {qty} unità dello SKU {sku}) è arrivato "
                          "danneggiato e non è stato rimborsato; il cliente è stato rimborsato il {date}.",
        "return_sellable_dispute": "Il reso dell'ordine {order_id} (LPN {lpn}, SKU {sku}) è stato classificato "
                                   "SELLABLE, ma il cliente ha segnalato l'articolo come danneggiato o difettoso.",
        "reimbursement_underpaid": "Il rimborso {reimbursement} del {date} ha pagato {paid} {currency} per unità per "
                                   "{qty} unità dello SKU {sku}; il nostro costo documentato è {unit_value} {currency}.",
    },
    "de": {
        "fc_lost": "{qty} Einheit(en) der FNSKU {fnsku} (SKU {sku}) wurden am {date} im Versandzentrum als verloren "
                   "gemeldet (Referenz-ID im Bestandsprotokoll {reference}) und weder gefunden noch erstattet.",
        "fc_damaged": "{qty} Einheit(en) der FNSKU {fnsku} (SKU {sku}) wurden am {date} im Versandzentrum beschädigt "
                      "(Referenz-ID im Bestandsprotokoll {reference}) und nicht erstattet.",
        "inbound_shortfall": "Die Sendung {shipment_id} ist abgeschlossen, aber {qty} Einheit(en) der SKU {sku} "
                             "(FNSKU {fnsku}), die wir versandt haben, wurden nicht erfasst; zugestellt am {date}.",
        "return_not_received": "Die Bestellung {order_id} wurde am {date} für {qty} Einheit(en) der SKU {sku} "
                               "erstattet, und der Artikel ist nicht an ein Versandzentrum zurückgegangen.",
        "return_damaged": "Die Rücksendung der Bestellung {order_id} (LPN {lpn}, {qty} Einheit(en) der SKU {sku}) "
                          "kam beschädigt an und wurde nicht erstattet; der Kunde wurde am {date} erstattet.",
        "return_sellable_dispute": "Die Rücksendung der Bestellung {order_id} (LPN {lpn}, SKU {sku}) wurde als "
                                   "SELLABLE eingestuft, obwohl der Kunde den Artikel als beschädigt oder defekt "
                                   "gemeldet hat.",
        "reimbursement_underpaid": "Die Erstattung {reimbursement} vom {date} zahlte {paid} {currency} pro Einheit für "
                                   "{qty} Einheit(en) der SKU {sku}; unsere belegten Kosten betragen {unit_value} "
                                   "{currency}.",
    },
    "fr": {
        "fc_lost": "{qty} unité(s) du FNSKU {fnsku} (SKU {sku}) ont été déclarées perdues dans votre centre de "
                   "distribution le {date} (ID de référence du registre {reference}) et n'ont été ni retrouvées ni "
                   "remboursées.",
        "fc_damaged": "{qty} unité(s) du FNSKU {fnsku} (SKU {sku}) ont été endommagées dans votre centre de "
                      "distribution le {date} (ID de référence du registre {reference}) et n'ont pas été remboursées.",
        "inbound_shortfall": "L'expédition {shipment_id} est clôturée, mais {qty} unité(s) du SKU {sku} (FNSKU "
                             "{fnsku}) que nous avons envoyées n'ont pas été réceptionnées ; livrée le {date}.",
        "return_not_received": "La commande {order_id} a été remboursée le {date} pour {qty} unité(s) du SKU {sku}, "
                               "et l'article n'a pas été retourné à un centre de distribution.",
        "return_damaged": "Le retour de la commande {order_id} (LPN {lpn}, {qty} unité(s) du SKU {sku}) est arrivé "
                          "endommagé et n'a pas été remboursé ; le client a été remboursé le {date}.",
        "return_sellable_dispute": "Le retour de la commande {order_id} (LPN {lpn}, SKU {sku}) a été classé "
                                   "SELLABLE alors que le client a signalé l'article endommagé ou défectueux.",
        "reimbursement_underpaid": "Le remboursement {reimbursement} du {date} a payé {paid} {currency} par unité pour "
                                   "{qty} unité(s) du SKU {sku} ; notre coût justifié est de {unit_value} {currency}.",
    },
    "es": {
        "fc_lost": "{qty} unidad(es) del FNSKU {fnsku} (SKU {sku}) se declararon perdidas en el centro logístico el "
                   "{date} (ID de referencia del registro {reference}) y no se han encontrado ni reembolsado.",
        "fc_damaged": "{qty} unidad(es) del FNSKU {fnsku} (SKU {sku}) se dañaron en el centro logístico el {date} "
                      "(ID de referencia del registro {reference}) y no se han reembolsado.",
        "inbound_shortfall": "El envío {shipment_id} está cerrado, pero no se recibieron {qty} unidad(es) del SKU "
                             "{sku} (FNSKU {fnsku}) que enviamos; se entregó el {date}.",
        "return_not_received": "El pedido {order_id} se reembolsó el {date} por {qty} unidad(es) del SKU {sku} y el "
                               "artículo no se ha devuelto a un centro logístico.",
        "return_damaged": "La devolución del pedido {order_id} (LPN {lpn}, {qty} unidad(es) del SKU {sku}) llegó "
                          "dañada y no se ha reembolsado; el cliente fue reembolsado el {date}.",
        "return_sellable_dispute": "La devolución del pedido {order_id} (LPN {lpn}, SKU {sku}) se clasificó como "
                                   "SELLABLE, aunque el cliente indicó que el artículo estaba dañado o defectuoso.",
        "reimbursement_underpaid": "El reembolso {reimbursement} del {date} pagó {paid} {currency} por unidad por "
                                   "{qty} unidad(es) del SKU {sku}; nuestro coste documentado es {unit_value} "
                                   "{currency}.",
    },
}

GREETING = {"en": "Hello,", "it": "Buongiorno,", "de": "Guten Tag,", "fr": "Bonjour,", "es": "Hola:"}
ASK = {
    "en": "Please reimburse {qty} unit(s) at {unit_value} {currency}, {amount} {currency} in total. The supporting "
          "documents are attached.",
    "it": "Vi chiediamo il rimborso di {qty} unità a {unit_value} {currency}, {amount} {currency} in totale. I "
          "documenti a supporto sono allegati.",
    "de": "Bitte erstatten Sie {qty} Einheit(en) zu {unit_value} {currency}, insgesamt {amount} {currency}. Die "
          "Belege sind beigefügt.",
    "fr": "Merci de rembourser {qty} unité(s) à {unit_value} {currency}, soit {amount} {currency} au total. Les "
          "justificatifs sont joints.",
    "es": "Solicitamos el reembolso de {qty} unidad(es) a {unit_value} {currency}, {amount} {currency} en total. "
          "Adjuntamos la documentación.",
}
INSPECT = {  # a SELLABLE dispute asks for an inspection, not money
    "en": "Please inspect the unit and reimburse it if it is not sellable. The customer's words are attached.",
    "it": "Vi chiediamo di ispezionare l'unità e di rimborsarla se non è vendibile. Le parole del cliente sono allegate.",
    "de": "Bitte prüfen Sie die Einheit und erstatten Sie sie, falls sie nicht verkaufsfähig ist. Die Aussagen des "
          "Kunden sind beigefügt.",
    "fr": "Merci d'inspecter l'unité et de la rembourser si elle n'est pas vendable. Les propos du client sont joints.",
    "es": "Les pedimos que inspeccionen la unidad y la reembolsen si no es vendible. Adjuntamos las palabras del cliente.",
}
DIFFERENCE = {  # an underpaid reimbursement asks for the difference
    "en": "Please pay the difference, {amount} {currency} in total. Our supplier invoice is attached.",
    "it": "Vi chiediamo di pagare la differenza, {amount} {currency} in totale. La fattura del fornitore è allegata.",
    "de": "Bitte zahlen Sie die Differenz, insgesamt {amount} {currency}. Die Lieferantenrechnung ist beigefügt.",
    "fr": "Merci de payer la différence, soit {amount} {currency} au total. La facture du fournisseur est jointe.",
    "es": "Solicitamos el pago de la diferencia, {amount} {currency} en total. Adjuntamos la factura del proveedor.",
}
THANKS = {"en": "Thank you.", "it": "Grazie.", "de": "Vielen Dank.", "fr": "Merci.", "es": "Gracias."}


def case_text(claim: dict[str, Any], language: str, identifiers: dict[str, str]) -> str:
    language = language if language in LANGUAGES else "en"
    fields = {
        "qty": claim["quantity"], "sku": claim.get("sku") or "-", "fnsku": identifiers.get("FNSKU", "-"),
        "order_id": claim.get("order_id") or "-", "shipment_id": claim.get("shipment_id") or "-",
        "date": claim["event_date"], "reference": identifiers.get("Ledger Reference ID", "-"),
        "lpn": identifiers.get("LPN", "-"), "reimbursement": identifiers.get("Reimbursement ID", "-"),
        "paid": identifiers.get("Paid per unit", "-"), "unit_value": claim.get("unit_value") or "-",
        "currency": claim.get("currency") or "", "amount": claim.get("amount") or "-",
    }
    ask = {"return_sellable_dispute": INSPECT, "reimbursement_underpaid": DIFFERENCE}.get(claim["kind"], ASK)
    return "\n\n".join((GREETING[language], WHAT[language][claim["kind"]].format(**fields),
                        ask[language].format(**fields), THANKS[language]))
