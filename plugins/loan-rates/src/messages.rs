//! Every reason message of loan-rates, in each supported language.
//!
//! Rates are written from whole basis points with two decimals and the
//! decimal separator of the language (`3.15%`, `3,15 %`).
//!
//! Each `match` on the language ends with English as `_`: the text for
//! English and for any language the SDK recognizes that is not translated
//! here yet (`Lang` is `#[non_exhaustive]`).

use verdict_sdk::Lang;

use crate::{Kind, Quote};

/// A rate in basis points as a percent with two decimals.
fn pct(lang: Lang, bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let bp = bp.unsigned_abs();
    let (whole, hundredths) = (bp / 100, bp % 100);
    match lang {
        // French and Swedish put a (non-breaking) space before the sign.
        Lang::Fr | Lang::Sv => format!("{sign}{whole},{hundredths:02}\u{a0}%"),
        Lang::Pt | Lang::Hu | Lang::Id => format!("{sign}{whole},{hundredths:02}%"),
        _ => format!("{sign}{whole}.{hundredths:02}%"),
    }
}

/// The name of a loan type, in lower case, as the sentences below use it.
fn loan(lang: Lang, kind: Kind<'_>) -> String {
    let name = match (lang, kind) {
        (Lang::Pt, Kind::Student) => "empréstimo estudantil",
        (Lang::Pt, Kind::Car) => "financiamento de veículo",
        (Lang::Pt, Kind::Mortgage) => "financiamento imobiliário",
        (Lang::Pt, Kind::Personal) => "empréstimo pessoal",
        (Lang::Fr, Kind::Student) => "prêt étudiant",
        (Lang::Fr, Kind::Car) => "prêt auto",
        (Lang::Fr, Kind::Mortgage) => "prêt immobilier",
        (Lang::Fr, Kind::Personal) => "prêt personnel",
        (Lang::Sv, Kind::Student) => "studielån",
        (Lang::Sv, Kind::Car) => "billån",
        (Lang::Sv, Kind::Mortgage) => "bolån",
        (Lang::Sv, Kind::Personal) => "privatlån",
        (Lang::Hu, Kind::Student) => "diákhitel",
        (Lang::Hu, Kind::Car) => "autóhitel",
        (Lang::Hu, Kind::Mortgage) => "jelzáloghitel",
        (Lang::Hu, Kind::Personal) => "személyi kölcsön",
        (Lang::Id, Kind::Student) => "pinjaman pelajar",
        (Lang::Id, Kind::Car) => "kredit kendaraan",
        (Lang::Id, Kind::Mortgage) => "kredit pemilikan rumah",
        (Lang::Id, Kind::Personal) => "pinjaman pribadi",
        (_, Kind::Student) => "student loan",
        (_, Kind::Car) => "car loan",
        (_, Kind::Mortgage) => "mortgage",
        (_, Kind::Personal) => "personal loan",
        (_, Kind::Other(other)) => {
            return match lang {
                Lang::Pt => format!("empréstimo do tipo \"{other}\""),
                Lang::Fr => format!("prêt de type « {other} »"),
                Lang::Sv => format!("lån av typen ”{other}”"),
                Lang::Hu => format!("„{other}” típusú kölcsön"),
                Lang::Id => format!("pinjaman jenis \"{other}\""),
                _ => format!("\"{other}\" loan"),
            };
        }
    };
    name.to_owned()
}

/// `no-loan-request`.
pub(crate) fn no_loan_request(lang: Lang) -> String {
    match lang {
        Lang::Pt => "O cliente não solicitou um empréstimo.",
        Lang::Fr => "Le client n'a pas demandé de prêt.",
        Lang::Sv => "Kunden har inte ansökt om något lån.",
        Lang::Hu => "Az ügyfél nem igényelt kölcsönt.",
        Lang::Id => "Nasabah tidak mengajukan pinjaman.",
        _ => "The customer has not requested a loan.",
    }
    .to_owned()
}

/// `minor`: younger than the youngest age that may borrow.
pub(crate) fn minor(lang: Lang, age: u32, min_age: u32) -> String {
    match lang {
        Lang::Pt => format!(
            "Os empréstimos só estão disponíveis a partir dos {min_age} anos; o cliente tem {age} anos."
        ),
        Lang::Fr => format!(
            "Les prêts ne sont accordés qu'à partir de {min_age} ans ; le client a {age} ans."
        ),
        Lang::Sv => format!("Lån beviljas först från {min_age} års ålder; kunden är {age} år."),
        Lang::Hu => {
            format!("Kölcsön csak {min_age} éves kortól igényelhető; az ügyfél {age} éves.")
        }
        Lang::Id => format!(
            "Pinjaman hanya tersedia mulai usia {min_age} tahun; nasabah berusia {age} tahun."
        ),
        _ => format!("Loans are available from age {min_age}; the customer is {age}."),
    }
}

/// `unknown-loan-type`: no base rate for the type asked for.
pub(crate) fn unknown_loan_type(lang: Lang, kind: &str, known: &[&str]) -> String {
    let known = known.join(", ");
    match lang {
        Lang::Pt => {
            format!("\"{kind}\" não é um tipo de empréstimo que oferecemos; oferecemos: {known}.")
        }
        Lang::Fr => format!(
            "« {kind} » n'est pas un type de prêt que nous proposons ; nous proposons : {known}."
        ),
        Lang::Sv => {
            format!("”{kind}” är inte en lånetyp som vi erbjuder; vi erbjuder: {known}.")
        }
        Lang::Hu => {
            format!("Ilyen kölcsöntípust nem kínálunk: „{kind}”; elérhető típusok: {known}.")
        }
        Lang::Id => format!(
            "\"{kind}\" bukan jenis pinjaman yang kami tawarkan; jenis yang tersedia: {known}."
        ),
        _ => format!("\"{kind}\" is not a loan type we offer; we offer: {known}."),
    }
}

/// `not-eligible`: older than the last age this loan type is offered at.
pub(crate) fn too_old_for(lang: Lang, kind: Kind<'_>, age: u32, max_age: u32) -> String {
    let loan = loan(lang, kind);
    match lang {
        Lang::Pt => {
            format!("Um {loan} só está disponível até os {max_age} anos; o cliente tem {age} anos.")
        }
        Lang::Fr => {
            format!("Un {loan} n'est accordé que jusqu'à {max_age} ans ; le client a {age} ans.")
        }
        Lang::Sv => {
            format!("Ett {loan} beviljas bara upp till {max_age} års ålder; kunden är {age} år.")
        }
        Lang::Hu => {
            format!("{max_age} éves kor fölött nem igényelhető {loan}; az ügyfél {age} éves.")
        }
        Lang::Id => format!(
            "Pengajuan {loan} hanya dapat dilakukan sampai usia {max_age} tahun; nasabah berusia {age} tahun."
        ),
        _ => {
            format!("A {loan} is available only up to age {max_age}; the customer is {age}.")
        }
    }
}

/// `not-eligible`: no surcharge band covers the age, so there is no rate.
pub(crate) fn no_band(lang: Lang, age: u32) -> String {
    match lang {
        Lang::Pt => format!(
            "Nenhuma faixa etária da tabela de taxas abrange a idade de {age} anos, portanto não é possível cotar uma taxa."
        ),
        Lang::Fr => format!(
            "Aucune tranche d'âge de la grille tarifaire ne couvre l'âge de {age} ans ; aucun taux ne peut être proposé."
        ),
        Lang::Sv => format!(
            "Ingen åldersgrupp i räntetabellen omfattar åldern {age} år, så ingen ränta kan anges."
        ),
        Lang::Hu => {
            format!(
                "A kamattáblázatban nincs korcsoport {age} éves korra, így kamat nem ajánlható."
            )
        }
        Lang::Id => format!(
            "Tidak ada kelompok usia dalam tabel suku bunga untuk usia {age} tahun, sehingga suku bunga tidak dapat ditawarkan."
        ),
        _ => {
            format!("No age band of the rate card covers age {age}, so no rate can be quoted.")
        }
    }
}

/// `rate-quoted`: the rate and how it is made up.
pub(crate) fn rate_quoted(lang: Lang, quote: &Quote<'_>) -> String {
    let loan = loan(lang, quote.kind);
    let rate = pct(lang, quote.rate_bp());
    let base = pct(lang, quote.base_bp);
    let surcharge = pct(lang, quote.surcharge_bp);
    let band = &quote.band;
    match lang {
        Lang::Pt => format!(
            "A taxa anual deste {loan} é de {rate}: taxa base de {base} mais um acréscimo de {surcharge} para a faixa etária {band}."
        ),
        Lang::Fr => format!(
            "Le taux annuel de ce {loan} est de {rate} : un taux de base de {base} plus une majoration de {surcharge} pour la tranche d'âge {band}."
        ),
        Lang::Sv => format!(
            "Årsräntan för detta {loan} är {rate}: en basränta på {base} plus ett påslag på {surcharge} för åldersgruppen {band}."
        ),
        Lang::Hu => format!(
            "Az éves kamat {rate} ({loan}): {base} alapkamat és {surcharge} felár a korcsoport szerint ({band} év)."
        ),
        Lang::Id => format!(
            "Suku bunga tahunan untuk {loan} ini adalah {rate}: suku bunga dasar {base} ditambah biaya tambahan {surcharge} untuk kelompok usia {band} tahun."
        ),
        _ => format!(
            "The annual rate for this {loan} is {rate}: a base rate of {base} plus a surcharge of {surcharge} for the {band} age band."
        ),
    }
}
