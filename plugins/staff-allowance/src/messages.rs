//! Every reason message of staff-allowance, in each supported language.
//!
//! Amounts are written with the `Cents` display (`US$2,150.00`) in every
//! language, so a message quotes exactly the figures of the decision.
//!
//! Each `match` on the language ends with English as `_`: the text for
//! English and for any language the SDK recognizes that is not translated
//! here yet (`Lang` is `#[non_exhaustive]`).

use verdict_sdk::Lang;
use verdict_sdk::domain::money::Cents;

use crate::{AmountProblem, Field, Figures, Role};

/// `no-recovery-request`: nothing asked for this guest.
pub(crate) fn no_recovery_request(lang: Lang) -> String {
    match lang {
        Lang::Pt => "Nenhum gasto de compensação foi solicitado para este hóspede.",
        Lang::Fr => "Aucun geste commercial n'a été demandé pour ce client.",
        Lang::Sv => "Ingen kompensation har begärts för den här gästen.",
        Lang::Hu => "Nem igényeltek összeget a vendég kárpótlására.",
        Lang::Id => "Tidak ada permintaan biaya kompensasi untuk tamu ini.",
        _ => "No service-recovery spend was requested for this guest.",
    }
    .to_owned()
}

/// `invalid-amount`: an amount of the stay cannot be decided on.
pub(crate) fn invalid_amount(lang: Lang, problem: AmountProblem) -> String {
    match problem {
        AmountProblem::NotCents(field, usd) => {
            let what = match (lang, field) {
                (Lang::Pt, Field::Requested) => "O valor solicitado",
                (Lang::Pt, Field::Spent) => "O valor já gasto",
                (Lang::Fr, Field::Requested) => "Le montant demandé",
                (Lang::Fr, Field::Spent) => "Le montant déjà dépensé",
                (Lang::Sv, Field::Requested) => "Det begärda beloppet",
                (Lang::Sv, Field::Spent) => "Det redan förbrukade beloppet",
                (Lang::Hu, Field::Requested) => "A kért összeg",
                (Lang::Hu, Field::Spent) => "A már elköltött összeg",
                (Lang::Id, Field::Requested) => "Jumlah yang diminta",
                (Lang::Id, Field::Spent) => "Jumlah yang sudah dibelanjakan",
                (_, Field::Requested) => "The requested amount",
                (_, Field::Spent) => "The amount already spent",
            };
            match lang {
                Lang::Pt => format!(
                    "{what} ({usd}) não é um valor válido em dólares americanos com no máximo duas casas decimais."
                ),
                Lang::Fr => format!(
                    "{what} ({usd}) n'est pas un montant valide en dollars américains avec au plus deux décimales."
                ),
                Lang::Sv => format!(
                    "{what} ({usd}) är inte ett giltigt belopp i amerikanska dollar med högst två decimaler."
                ),
                Lang::Hu => format!(
                    "{what} ({usd}) nem érvényes, legfeljebb két tizedesjegyű amerikai dollár összeg."
                ),
                Lang::Id => format!(
                    "{what} ({usd}) bukan jumlah dolar AS yang sah dengan paling banyak dua angka desimal."
                ),
                _ => format!(
                    "{what} ({usd}) is not a valid amount in US dollars with at most two decimals."
                ),
            }
        }
        AmountProblem::NotPositive(requested) => match lang {
            Lang::Pt => format!("O valor solicitado deve ser maior que zero, mas é {requested}."),
            Lang::Fr => {
                format!("Le montant demandé doit être supérieur à zéro, or il est de {requested}.")
            }
            Lang::Sv => {
                format!("Det begärda beloppet måste vara större än noll, men det är {requested}.")
            }
            Lang::Hu => {
                format!("A kért összegnek nullánál nagyobbnak kell lennie, de {requested}.")
            }
            Lang::Id => {
                format!("Jumlah yang diminta harus lebih dari nol, tetapi nilainya {requested}.")
            }
            _ => {
                format!("The requested amount must be more than zero, but it is {requested}.")
            }
        },
        AmountProblem::Negative(spent) => match lang {
            Lang::Pt => format!("O valor já gasto não pode ser negativo, mas é {spent}."),
            Lang::Fr => {
                format!("Le montant déjà dépensé ne peut pas être négatif, or il est de {spent}.")
            }
            Lang::Sv => {
                format!("Det redan förbrukade beloppet kan inte vara negativt, men det är {spent}.")
            }
            Lang::Hu => format!("A már elköltött összeg nem lehet negatív, de {spent}."),
            Lang::Id => format!(
                "Jumlah yang sudah dibelanjakan tidak boleh negatif, tetapi nilainya {spent}."
            ),
            _ => format!("The amount already spent cannot be negative, but it is {spent}."),
        },
    }
}

/// `unknown-role`: the request names neither staff nor a manager.
pub(crate) fn unknown_role(lang: Lang, role: &str) -> String {
    match lang {
        Lang::Pt => format!(
            "Uma solicitação só pode ser feita por um funcionário ou por um gerente; a função \"{role}\" é desconhecida."
        ),
        Lang::Fr => format!(
            "Seul un employé ou un responsable peut faire une demande ; le rôle « {role} » est inconnu."
        ),
        Lang::Sv => {
            format!("Endast personal eller en chef kan göra en begäran; rollen ”{role}” är okänd.")
        }
        Lang::Hu => format!(
            "Kérést csak munkatárs vagy vezető nyújthat be; ez a szerepkör ismeretlen: „{role}”."
        ),
        Lang::Id => format!(
            "Permintaan hanya dapat diajukan oleh staf atau manajer; peran \"{role}\" tidak dikenal."
        ),
        _ => format!(
            "A request can only come from staff or a manager; the role \"{role}\" is unknown."
        ),
    }
}

/// Whose limit applies, as the messages name it.
fn limit_of(lang: Lang, role: Role) -> &'static str {
    match (lang, role) {
        (Lang::Pt, Role::Staff) => "funcionários",
        (Lang::Pt, Role::Manager) => "gerentes",
        (Lang::Fr, Role::Staff) => "aux employés",
        (Lang::Fr, Role::Manager) => "aux responsables",
        (Lang::Sv, Role::Staff) => "personal",
        (Lang::Sv, Role::Manager) => "chefer",
        (Lang::Hu, Role::Staff) => "munkatársi",
        (Lang::Hu, Role::Manager) => "vezetői",
        (Lang::Id, Role::Staff) => "staf",
        (Lang::Id, Role::Manager) => "manajer",
        (_, Role::Staff) => "staff",
        (_, Role::Manager) => "manager",
    }
}

/// `within-allowance`: the total fits the limit of whoever asks.
pub(crate) fn within_allowance(lang: Lang, figures: Figures, remaining: Cents) -> String {
    let Figures {
        role,
        spent,
        requested,
        total,
        limit,
    } = figures;
    let whose = limit_of(lang, role);
    match lang {
        Lang::Pt => format!(
            "O total de {total} ({spent} já gastos mais {requested} solicitados) está dentro do limite de {limit} para {whose}; restam {remaining}."
        ),
        Lang::Fr => format!(
            "Le total de {total} ({spent} déjà dépensés plus {requested} demandés) reste dans la limite de {limit} accordée {whose} ; il reste {remaining}."
        ),
        Lang::Sv => format!(
            "Totalt {total} ({spent} redan förbrukat plus {requested} begärt) ryms inom gränsen på {limit} för {whose}; {remaining} återstår."
        ),
        Lang::Hu => format!(
            "A teljes összeg, {total} ({spent} már elköltve és {requested} kérve), belefér a {whose} keretbe ({limit}); még {remaining} marad."
        ),
        Lang::Id => format!(
            "Total {total} ({spent} yang sudah dibelanjakan ditambah {requested} yang diminta) masih dalam batas {whose} sebesar {limit}; sisa {remaining}."
        ),
        _ => format!(
            "The total of {total} ({spent} already spent plus {requested} requested) is within the {whose} limit of {limit}; {remaining} remains."
        ),
    }
}

/// `over-allowance`: the total exceeds the limit, so someone more senior
/// decides: a manager for a staff request, the general manager for a
/// manager's.
pub(crate) fn over_allowance(lang: Lang, figures: Figures) -> String {
    let Figures {
        role,
        spent,
        requested,
        total,
        limit,
    } = figures;
    let whose = limit_of(lang, role);
    let over = total - limit;
    let to = match (lang, role) {
        (Lang::Pt, Role::Staff) => "um gerente",
        (Lang::Pt, Role::Manager) => "o gerente-geral",
        (Lang::Fr, Role::Staff) => "à un responsable",
        (Lang::Fr, Role::Manager) => "au directeur général",
        (Lang::Sv, Role::Staff) => "en chef",
        (Lang::Sv, Role::Manager) => "hotelldirektören",
        (Lang::Hu, Role::Staff) => "egy vezetőhöz",
        (Lang::Hu, Role::Manager) => "a szállodaigazgatóhoz",
        (Lang::Id, Role::Staff) => "seorang manajer",
        (Lang::Id, Role::Manager) => "manajer umum",
        (_, Role::Staff) => "a manager",
        (_, Role::Manager) => "the general manager",
    };
    match lang {
        Lang::Pt => format!(
            "O total de {total} ({spent} já gastos mais {requested} solicitados) excede em {over} o limite de {limit} para {whose}; a solicitação vai para {to}."
        ),
        Lang::Fr => format!(
            "Le total de {total} ({spent} déjà dépensés plus {requested} demandés) dépasse de {over} la limite de {limit} accordée {whose} ; la demande est transmise {to}."
        ),
        Lang::Sv => format!(
            "Totalt {total} ({spent} redan förbrukat plus {requested} begärt) överstiger gränsen på {limit} för {whose} med {over}; begäran går vidare till {to}."
        ),
        Lang::Hu => format!(
            "A teljes összeg, {total} ({spent} már elköltve és {requested} kérve), {over} összeggel meghaladja a {whose} keretet ({limit}); a kérés {to} kerül."
        ),
        Lang::Id => format!(
            "Total {total} ({spent} yang sudah dibelanjakan ditambah {requested} yang diminta) melebihi batas {whose} sebesar {limit} dengan selisih {over}; permintaan diteruskan ke {to}."
        ),
        _ => format!(
            "The total of {total} ({spent} already spent plus {requested} requested) exceeds the {whose} limit of {limit} by {over}; the request goes to {to}."
        ),
    }
}
