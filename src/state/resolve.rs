//! Which value of a persistent variable a run uses: the one the user injected or the one the
//! state file saved. A pure function, so the README's rule and the code cannot drift apart.

use super::format::Entry;

/// Where the winning value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// The state file's value.
    State,
    /// The value supplied this run (environment file, `--var`, `env(...)`).
    Injected,
    /// Neither had a value.
    Neither,
}

/// Why a value won. Each reason names its winner ([`Why::winner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// No value was injected and the state has none.
    NoValue,
    /// The state has no value yet: the injected one starts the chain.
    NotInState,
    /// Nothing was injected: the state's value is used.
    NothingInjected,
    /// The injected value is the state's value.
    Same,
    /// The injected value is one the state's value replaced: a stale copy (a CI secret that is
    /// never updated, say). Sending it would fail, or worse, so the state's value is used.
    InjectedSuperseded,
    /// The injected value is one the state has never seen: the user authorized again. It is
    /// used, and the next save restarts the state's chain from it.
    InjectedUnknown,
}

impl Why {
    pub fn winner(self) -> Winner {
        match self {
            Why::NoValue => Winner::Neither,
            Why::NotInState | Why::InjectedUnknown => Winner::Injected,
            Why::NothingInjected | Why::Same | Why::InjectedSuperseded => Winner::State,
        }
    }

    /// One line for `courier vars`, lowercase like the rest of courier's messages.
    pub fn explain(self) -> &'static str {
        match self {
            Why::NoValue => "not set: nothing injected and nothing saved",
            Why::NotInState => "injected value used: the state file has none yet",
            Why::NothingInjected => "saved value used: nothing injected",
            Why::Same => "saved value used: the injected value is the same",
            Why::InjectedSuperseded => {
                "saved value used: the injected value was already replaced by a rotation"
            }
            Why::InjectedUnknown => {
                "injected value used: the state file has never seen it (authorized again?)"
            }
        }
    }
}

/// The outcome of [`resolve`]: the value to use and why.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolution {
    pub value: Option<String>,
    pub why: Why,
}

/// Written by hand: the value is a secret.
impl std::fmt::Debug for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolution")
            .field("value", &self.value.as_ref().map(|_| "***"))
            .field("why", &self.why)
            .finish()
    }
}

impl Resolution {
    pub fn winner(&self) -> Winner {
        self.why.winner()
    }
}

/// The precedence rule for one persistent variable.
///
/// The state's value wins when nothing is injected, when the injected value equals it, or when
/// the injected value is one it replaced or one supplied to an earlier run; any other injected
/// value wins.
pub fn resolve(entry: Option<&Entry>, injected: Option<&str>) -> Resolution {
    let (value, why) = match (entry, injected) {
        (None, None) => (None, Why::NoValue),
        (None, Some(injected)) => (Some(injected), Why::NotInState),
        (Some(entry), None) => (Some(entry.value.as_str()), Why::NothingInjected),
        (Some(entry), Some(injected)) if injected == entry.value => {
            (Some(entry.value.as_str()), Why::Same)
        }
        (Some(entry), Some(injected)) if entry.supersedes(injected) => {
            (Some(entry.value.as_str()), Why::InjectedSuperseded)
        }
        (Some(_), Some(injected)) => (Some(injected), Why::InjectedUnknown),
    };
    Resolution {
        value: value.map(str::to_string),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::format::fingerprint;

    fn entry() -> Entry {
        Entry {
            value: "t2".into(),
            previous: Some("t1".into()),
            updated: None,
            by: None,
            superseded: vec![fingerprint("t1"), fingerprint("t0")],
            inputs: Vec::new(),
        }
    }

    #[test]
    fn nothing_anywhere() {
        let r = resolve(None, None);
        assert_eq!(
            (r.value.as_deref(), r.why, r.winner()),
            (None, Why::NoValue, Winner::Neither)
        );
    }

    #[test]
    fn injected_starts_the_chain_when_the_state_is_empty() {
        let r = resolve(None, Some("t0"));
        assert_eq!((r.value.as_deref(), r.why), (Some("t0"), Why::NotInState));
        assert_eq!(r.winner(), Winner::Injected);
    }

    #[test]
    fn state_wins_when_nothing_is_injected() {
        let e = entry();
        let r = resolve(Some(&e), None);
        assert_eq!(
            (r.value.as_deref(), r.why),
            (Some("t2"), Why::NothingInjected)
        );
        assert_eq!(r.winner(), Winner::State);
    }

    #[test]
    fn same_value_is_the_state() {
        let e = entry();
        let r = resolve(Some(&e), Some("t2"));
        assert_eq!(
            (r.value.as_deref(), r.why, r.winner()),
            (Some("t2"), Why::Same, Winner::State)
        );
    }

    #[test]
    fn a_stale_injected_value_loses_to_the_state() {
        let e = entry();
        for stale in ["t1", "t0"] {
            let r = resolve(Some(&e), Some(stale));
            assert_eq!(
                (r.value.as_deref(), r.why),
                (Some("t2"), Why::InjectedSuperseded)
            );
            assert_eq!(r.winner(), Winner::State);
        }
    }

    #[test]
    fn an_unknown_injected_value_wins() {
        let e = entry();
        let r = resolve(Some(&e), Some("u0"));
        assert_eq!(
            (r.value.as_deref(), r.why),
            (Some("u0"), Why::InjectedUnknown)
        );
        assert_eq!(r.winner(), Winner::Injected);
        // `previous` counts as replaced even when a hand-edited file lost its fingerprint.
        let mut e = entry();
        e.superseded.clear();
        assert_eq!(resolve(Some(&e), Some("t1")).why, Why::InjectedSuperseded);
        assert_eq!(resolve(Some(&e), Some("t0")).why, Why::InjectedUnknown);
    }
}
