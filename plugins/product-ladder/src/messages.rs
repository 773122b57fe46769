//! Every reason message of product-ladder, in each supported language.
//!
//! Stage and product names are the operators' identifiers from the
//! parameters, quoted as they are.
//!
//! Each `match` on the language ends with English as `_`: the text for
//! English and for any language the SDK recognizes that is not translated
//! here yet (`Lang` is `#[non_exhaustive]`).

use verdict_sdk::Lang;

/// `too-young`: younger than the first rung.
pub(crate) fn too_young(lang: Lang, age: u32, first_age: u32) -> String {
    match lang {
        Lang::Pt => format!(
            "Nossos produtos são oferecidos a partir dos {first_age} anos; o cliente tem {age} anos."
        ),
        Lang::Fr => {
            format!(
                "Nos produits sont proposés à partir de {first_age} ans ; le client a {age} ans."
            )
        }
        Lang::Sv => {
            format!("Våra produkter erbjuds från {first_age} års ålder; kunden är {age} år.")
        }
        Lang::Hu => format!("Termékeinket {first_age} éves kortól kínáljuk; az ügyfél {age} éves."),
        Lang::Id => format!(
            "Produk kami ditawarkan mulai usia {first_age} tahun; nasabah berusia {age} tahun."
        ),
        _ => format!("Our products start at age {first_age}; the customer is {age}."),
    }
}

/// `ladder-complete`: the customer holds every product of their rung.
pub(crate) fn ladder_complete(lang: Lang, age: u32, stage: &str) -> String {
    match lang {
        Lang::Pt => format!(
            "Aos {age} anos, o cliente está na fase \"{stage}\" e já possui todos os produtos dela."
        ),
        Lang::Fr => format!(
            "À {age} ans, le client est à l'étape « {stage} » et détient déjà tous ses produits."
        ),
        Lang::Sv => format!(
            "Vid {age} års ålder är kunden i steget ”{stage}” och har redan alla dess produkter."
        ),
        Lang::Hu => format!(
            "Az ügyfél {age} éves, így ebben a szakaszban van: „{stage}”; már minden hozzá tartozó termékkel rendelkezik."
        ),
        Lang::Id => format!(
            "Pada usia {age} tahun, nasabah berada di tahap \"{stage}\" dan sudah memiliki semua produknya."
        ),
        _ => format!(
            "At {age}, the customer is in the \"{stage}\" stage and already holds all of its products."
        ),
    }
}

/// `next-products`: what to offer, in rung order.
pub(crate) fn next_products(lang: Lang, age: u32, stage: &str, offer: &[String]) -> String {
    let offer = offer.join(", ");
    match lang {
        Lang::Pt => {
            format!("Aos {age} anos, o cliente está na fase \"{stage}\"; oferecemos: {offer}.")
        }
        Lang::Fr => {
            format!("À {age} ans, le client est à l'étape « {stage} » ; nous proposons : {offer}.")
        }
        Lang::Sv => {
            format!("Vid {age} års ålder är kunden i steget ”{stage}”; vi erbjuder: {offer}.")
        }
        Lang::Hu => format!(
            "Az ügyfél {age} éves, így ebben a szakaszban van: „{stage}”; ajánlatunk: {offer}."
        ),
        Lang::Id => format!(
            "Pada usia {age} tahun, nasabah berada di tahap \"{stage}\"; kami menawarkan: {offer}."
        ),
        _ => {
            format!("At {age}, the customer is in the \"{stage}\" stage; we offer: {offer}.")
        }
    }
}
