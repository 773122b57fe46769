//! Languages for reason messages, with English as the fallback.

/// A language the SDK recognizes in a customer's `language` tag.
///
/// Policies match on it to pick a message; a customer whose `language` is
/// missing or not listed here gets [`Lang::En`].
///
/// `#[non_exhaustive]`: the SDK may recognize more languages in a later
/// version without breaking plugins, so every `match` outside the SDK ends
/// with a `_ =>` arm, which should give the English text (a customer in a
/// language the policy does not translate gets English, as one whose tag
/// the SDK does not know does):
///
/// ```
/// use verdict_sdk::Lang;
///
/// fn greeting(lang: Lang) -> &'static str {
///     match lang {
///         Lang::Pt => "Olá",
///         Lang::Fr => "Bonjour",
///         _ => "Hello",
///     }
/// }
/// assert_eq!(greeting(Lang::Sv), "Hello");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Lang {
    /// English, the fallback.
    #[default]
    En,
    /// Portuguese.
    Pt,
    /// French.
    Fr,
    /// Swedish.
    Sv,
    /// Hungarian.
    Hu,
    /// Indonesian.
    Id,
}

impl Lang {
    /// Every language the SDK recognizes, English first. A slice, so that
    /// recognizing one more is not a change of type.
    pub const ALL: &'static [Lang] = &[Lang::En, Lang::Pt, Lang::Fr, Lang::Sv, Lang::Hu, Lang::Id];

    /// Reads a language tag such as `pt`, `pt-BR` or `FR`; anything else,
    /// or no tag, is English.
    #[must_use]
    pub fn from_tag(tag: Option<&str>) -> Lang {
        let primary = tag.unwrap_or("").split(['-', '_']).next().unwrap_or("");
        Lang::ALL
            .iter()
            .copied()
            .find(|lang| lang.code().eq_ignore_ascii_case(primary))
            .unwrap_or_default()
    }

    /// The message for this language: its entry in `translations`, else
    /// `english`. Every message has an English text, so a customer whose
    /// language a policy does not translate (or that the SDK does not list)
    /// still gets one.
    ///
    /// ```
    /// use verdict_sdk::Lang;
    ///
    /// let min_age = 18;
    /// let message = Lang::Pt.pick(
    ///     format!("Loans are available from age {min_age}."),
    ///     [
    ///         (Lang::Pt, format!("Empréstimos a partir dos {min_age} anos.")),
    ///         (Lang::Fr, format!("Prêts à partir de {min_age} ans.")),
    ///     ],
    /// );
    /// assert_eq!(message, "Empréstimos a partir dos 18 anos.");
    /// assert_eq!(Lang::Sv.pick("Hello", [(Lang::Pt, "Olá")]), "Hello");
    /// ```
    ///
    /// The texts are all built before one is picked; where that matters,
    /// or where every language is translated, `match` on the language
    /// instead and end with `_ =>` English.
    #[must_use]
    pub fn pick<T>(self, english: T, translations: impl IntoIterator<Item = (Lang, T)>) -> T {
        translations
            .into_iter()
            .find(|(lang, _)| *lang == self)
            .map_or(english, |(_, text)| text)
    }

    /// The two-letter ISO 639-1 code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pt => "pt",
            Lang::Fr => "fr",
            Lang::Sv => "sv",
            Lang::Hu => "hu",
            Lang::Id => "id",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_fall_back_to_english() {
        assert_eq!(Lang::from_tag(Some("pt-BR")), Lang::Pt);
        assert_eq!(Lang::from_tag(Some("HU")), Lang::Hu);
        assert_eq!(Lang::from_tag(Some("de")), Lang::En);
        assert_eq!(Lang::from_tag(Some("")), Lang::En);
        assert_eq!(Lang::from_tag(None), Lang::En);
    }

    #[test]
    fn pick_falls_back_to_english() {
        let translations = [(Lang::Pt, "Olá"), (Lang::Fr, "Bonjour")];
        assert_eq!(Lang::Pt.pick("Hello", translations), "Olá");
        assert_eq!(Lang::Fr.pick("Hello", translations), "Bonjour");
        assert_eq!(Lang::Hu.pick("Hello", translations), "Hello");
        assert_eq!(Lang::En.pick("Hello", translations), "Hello");
    }
}
