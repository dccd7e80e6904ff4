//! Plans: classification × policy, compiled for one product, rule and
//! consumer into the [`FieldPolicy`] the streaming rewriter executes.
//!
//! A product's [`Classification`] (selector → class, owned by its domain
//! team) and the global [`Policy`] (ordered rules, owned by the security
//! team) meet here. [`Policy::select`] picks the first rule matching the
//! caller's roles and purpose (the last rule is the default);
//! [`Plan::compile`] resolves, for every classified field, the action its
//! class gets under that rule; [`Plan::for_consumer`] binds the caller
//! (for consumer-scoped pseudonyms) and the key provider.
//!
//! Unclassified values follow the product's [`Unclassified`] mode: `pass`
//! streams them; `detect` scans strings with the detectors and gives each
//! finding its class's action; `deny` drops unclassified subtrees and
//! strings (numbers and booleans beside classified fields pass: the
//! rewriter only hands strings to the unclassified hook).

use std::{collections::BTreeMap, sync::Arc};

use crate::{
    action::{Action, ApplyContext, Outcome, Reveal, Scalar, Tokenize},
    detect::DetectorSet,
    keys::KeyProvider,
    rewrite::{
        ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, Found, LookupState, MemberKey,
        Replacement, TransformError, Treatment,
    },
    selector::{Lookup, MatchState, PathSegment, Selector, SelectorSet, normalized_path},
};

/// The key of a rule's action for every class it does not name.
pub const ANY_CLASS: &str = "*";

/// One classified field of a product.
#[derive(Debug, Clone)]
pub struct ClassifiedField {
    /// Which values.
    pub selector: Selector,
    /// Their class.
    pub class: String,
    /// How the product stores them: as they are, or protected by the
    /// gateway on writes (and opened before the caller's action applies).
    pub stored: Stored,
}

/// How a product stores a classified field's values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// As the writer sent them.
    Clear,
    /// As AES-256-GCM envelopes: the gateway encrypts the field in request
    /// bodies, and opens it in responses before the caller's action.
    Encrypted,
    /// As FF1 tokens of this shape and key: the gateway tokenizes the field
    /// in request bodies (the product keeps values of the same length and
    /// characters, so its own validation still passes), and detokenizes it
    /// in responses before the caller's action. A token carries no key id:
    /// name the key version (`key`) so that a rotation of the active FPE key
    /// does not turn stored tokens into wrong values.
    Tokenized(Tokenize),
}

impl Stored {
    /// The action that protects a value for storage (its
    /// [`Action::key_needed`] is the key stored values need).
    pub fn protect(&self) -> Option<Action> {
        match self {
            Stored::Clear => None,
            Stored::Encrypted => Some(Action::Encrypt { key: None }),
            Stored::Tokenized(t) => Some(Action::Tokenize(t.clone())),
        }
    }

    /// The action that opens a stored value.
    fn open(&self) -> Option<Action> {
        match self {
            Stored::Clear => None,
            Stored::Encrypted => Some(Action::Reveal(Reveal::Envelope)),
            Stored::Tokenized(t) => Some(Action::Reveal(Reveal::Token(t.clone()))),
        }
    }
}

/// What happens to values no selector classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unclassified {
    /// Passed through.
    Pass,
    /// Strings scanned; findings get their class's action.
    Detect,
    /// Dropped.
    Deny,
}

/// A product's classification.
#[derive(Debug, Clone)]
pub struct Classification {
    /// The product's name (associated data of its encrypted fields).
    pub product: String,
    /// Its classified fields, first match wins.
    pub fields: Vec<ClassifiedField>,
    /// What happens to the rest.
    pub unclassified: Unclassified,
}

/// One policy rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name, for explain output and audit.
    pub name: String,
    /// Applies to callers with any of these roles (empty: the default).
    pub roles: Vec<String>,
    /// ... for these purposes (empty: any).
    pub purposes: Vec<String>,
    /// Class (or [`ANY_CLASS`]) → action.
    pub actions: BTreeMap<String, Action>,
}

/// The security team's policy: rules in order, the last one the default.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// Why a policy or plan cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A policy needs at least its default rule.
    #[error("a policy needs a default rule")]
    NoRules,
    /// No rule, not even the default, says what happens to a class.
    #[error("no rule gives an action for class {class:?} (add \"*\" to the default rule)")]
    NoAction {
        /// The class.
        class: String,
    },
}

impl Policy {
    /// A policy from rules in order; the last is the default.
    pub fn new(rules: Vec<Rule>) -> Result<Self, PlanError> {
        if rules.is_empty() {
            return Err(PlanError::NoRules);
        }
        Ok(Self { rules })
    }

    /// The rule for a caller with `roles` and `purpose`: the first whose
    /// roles intersect and whose purposes (if any) include the purpose;
    /// else the default.
    pub fn select(&self, roles: &[String], purpose: Option<&str>) -> &Rule {
        &self.rules[self.select_index(roles, purpose)]
    }

    /// The position of [`select`](Self::select)'s rule.
    pub fn select_index(&self, roles: &[String], purpose: Option<&str>) -> usize {
        let default = self.rules.len() - 1;
        self.rules[..default]
            .iter()
            .position(|rule| {
                rule.roles.iter().any(|r| roles.contains(r))
                    && (rule.purposes.is_empty()
                        || purpose.is_some_and(|p| rule.purposes.iter().any(|q| q == p)))
            })
            .unwrap_or(default)
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The action `rule` gives `class`: the rule's own, its `"*"`, or the
    /// default rule's.
    pub fn action_for<'p>(&'p self, rule: &'p Rule, class: &str) -> Result<&'p Action, PlanError> {
        self.action_and_rule(rule, class).map(|(action, _)| action)
    }

    /// [`action_for`](Self::action_for), and the rule it comes from.
    fn action_and_rule<'p>(
        &'p self,
        rule: &'p Rule,
        class: &str,
    ) -> Result<(&'p Action, &'p Rule), PlanError> {
        let default = self.rules.last().expect("a policy has rules");
        [rule, default]
            .into_iter()
            .find_map(|r| {
                r.actions
                    .get(class)
                    .or_else(|| r.actions.get(ANY_CLASS))
                    .map(|a| (a, r))
            })
            .ok_or_else(|| PlanError::NoAction {
                class: class.to_owned(),
            })
    }
}

/// One field of a compiled plan.
#[derive(Debug, Clone)]
pub struct PlannedField {
    /// The class.
    pub class: String,
    /// The action it gets.
    pub action: Action,
    /// The name of the rule the action comes from: the plan's own, or the
    /// default rule when the plan's names neither the class nor `"*"`.
    pub rule: String,
    /// How its value is stored (a protected one is opened first).
    pub stored: Stored,
    /// The selector, canonical: the JSON path that encryption and
    /// tokenization bind to (associated data, tweak), so a value encrypted
    /// where a list holds it opens where a single record does.
    pub selector: String,
}

/// Classification × one rule: what the rewriter executes for a product.
#[derive(Debug)]
pub struct Plan {
    product: Arc<str>,
    rule: String,
    selectors: SelectorSet<FieldId>,
    /// The decision and state at the root of the selectors' automaton
    /// (`None` if they have none).
    root: Option<(Decision, LookupState)>,
    /// The decision and state each transition of the automaton leads to
    /// (empty if it has none): a step-by-step lookup finds the transition,
    /// then both in one load.
    moves: Vec<(Decision, LookupState)>,
    fields: Vec<PlannedField>,
    /// Per field id, the JSON its action gives every value, when that does
    /// not depend on the value ([`Action::constant_json`]).
    constants: Vec<Option<Box<str>>>,
    unclassified: Unclassified,
    /// Actions for detected classes (detect mode).
    detected: BTreeMap<String, Action>,
    detectors: Arc<DetectorSet>,
}

/// The field id of unclassified subtrees in deny mode.
const DENIED: FieldId = FieldId(u32::MAX);

impl Plan {
    /// Compiles `classification` under `rule` of `policy`.
    pub fn compile(
        classification: &Classification,
        policy: &Policy,
        rule: &Rule,
        detectors: Arc<DetectorSet>,
        detected_classes: &[&str],
    ) -> Result<Self, PlanError> {
        let mut fields = Vec::with_capacity(classification.fields.len());
        let mut selectors = Vec::with_capacity(classification.fields.len());
        for (i, field) in classification.fields.iter().enumerate() {
            let id = FieldId(u32::try_from(i).expect("fewer than 2^32 fields"));
            selectors.push((field.selector.clone(), id));
            let (action, from) = policy.action_and_rule(rule, &field.class)?;
            fields.push(PlannedField {
                class: field.class.clone(),
                action: action.clone(),
                rule: from.name.clone(),
                stored: field.stored.clone(),
                selector: field.selector.to_string(),
            });
        }
        let mut detected = BTreeMap::new();
        if classification.unclassified == Unclassified::Detect {
            for class in detected_classes {
                detected.insert((*class).to_owned(), policy.action_for(rule, class)?.clone());
            }
        }
        let constants = fields
            .iter()
            .map(|f| {
                // A stored value is still opened (and fails closed) first.
                (f.stored == Stored::Clear)
                    .then(|| f.action.constant_json())
                    .flatten()
                    .map(String::into_boxed_str)
            })
            .collect();
        let selectors = SelectorSet::new(selectors);
        let unclassified = classification.unclassified;
        let at = |s: MatchState| {
            (
                decide(unclassified, selectors.lookup_state(s)),
                LookupState(s.to_u32()),
            )
        };
        let root = selectors.start().map(at);
        let moves = selectors.transition_targets().map(at).collect();
        Ok(Self {
            product: Arc::from(classification.product.as_str()),
            rule: rule.name.clone(),
            root,
            moves,
            selectors,
            fields,
            constants,
            unclassified,
            detected,
            detectors,
        })
    }

    /// The rule this plan was compiled from.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The compiled fields, by field id.
    pub fn fields(&self) -> &[PlannedField] {
        &self.fields
    }

    /// The compiled field a rewrite's summary counts under `id`; `None`
    /// for the values an `unclassified = "deny"` product drops, which no
    /// selector classified.
    pub fn field(&self, id: FieldId) -> Option<&PlannedField> {
        usize::try_from(id.0).ok().and_then(|i| self.fields.get(i))
    }

    /// In `detect` mode, the action a value of `class` found in free text
    /// gets (`None`: none, and the value is replaced by a mark naming its
    /// class).
    pub fn detected_action(&self, class: &str) -> Option<&Action> {
        self.detected.get(class)
    }

    /// What happens to values no selector classifies.
    pub fn unclassified(&self) -> Unclassified {
        self.unclassified
    }

    /// In `detect` mode, the action a value found in free text gets, by its
    /// class, in class order (empty in the other modes).
    pub fn detected(&self) -> impl Iterator<Item = (&str, &Action)> {
        self.detected
            .iter()
            .map(|(class, action)| (class.as_str(), action))
    }

    /// Binds the plan to a caller and keys: the [`FieldPolicy`] for one
    /// request.
    pub fn for_consumer(self: &Arc<Self>, consumer: &str, keys: Arc<dyn KeyProvider>) -> BoundPlan {
        BoundPlan {
            plan: self.clone(),
            consumer: Arc::from(consumer),
            keys,
        }
    }
}

/// A plan bound to one caller: what the rewriter is given.
pub struct BoundPlan {
    plan: Arc<Plan>,
    consumer: Arc<str>,
    keys: Arc<dyn KeyProvider>,
}

impl std::fmt::Debug for BoundPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundPlan")
            .field("rule", &self.plan.rule)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl BoundPlan {
    fn context<'a>(&'a self, path: &'a str) -> ApplyContext<'a> {
        ApplyContext {
            product: &self.plan.product,
            path,
            consumer: &self.consumer,
            keys: &*self.keys,
        }
    }
}

/// The rewriter's decision for what a plan's selectors say, under its
/// mode for unclassified values.
fn decide(unclassified: Unclassified, lookup: Lookup<'_, FieldId>) -> Decision {
    match lookup {
        Lookup::Outside if unclassified == Unclassified::Deny => Decision::Transform(DENIED),
        other => selected(other),
    }
}

/// The rewriter's decision for what a selector set says.
fn selected(lookup: Lookup<'_, FieldId>) -> Decision {
    match lookup {
        Lookup::Match(id) => Decision::Transform(*id),
        Lookup::Descend => Decision::Descend,
        Lookup::Outside => Decision::Outside,
    }
}

/// Step-by-step lookup through the set's compiled automaton.
fn root_state(
    selectors: &SelectorSet<FieldId>,
    decide: impl Fn(Lookup<'_, FieldId>) -> Decision,
) -> Option<(Decision, LookupState)> {
    let s = selectors.start()?;
    Some((decide(selectors.lookup_state(s)), LookupState(s.to_u32())))
}

fn child_state(
    selectors: &SelectorSet<FieldId>,
    parent: LookupState,
    child: PathSegment<'_>,
    decide: impl Fn(Lookup<'_, FieldId>) -> Decision,
) -> (Decision, LookupState) {
    let s = selectors.step(MatchState::from_u32(parent.0), child);
    (decide(selectors.lookup_state(s)), LookupState(s.to_u32()))
}

impl FieldPolicy for BoundPlan {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        decide(self.plan.unclassified, self.plan.selectors.lookup(path))
    }

    fn lookup_root(&self) -> Option<(Decision, LookupState)> {
        self.plan.root
    }

    #[inline]
    fn lookup_child(&self, parent: LookupState, child: PathSegment<'_>) -> (Decision, LookupState) {
        let parent = MatchState::from_u32(parent.0);
        self.plan.moves[self.plan.selectors.transition(parent, child).index()]
    }

    #[inline]
    fn lookup_member(
        &self,
        parent: LookupState,
        name: &str,
    ) -> (Decision, LookupState, Option<MemberKey>) {
        let parent = MatchState::from_u32(parent.0);
        let (t, key) = self.plan.selectors.member_transition(parent, name);
        let (decision, state) = self.plan.moves[t.index()];
        (decision, state, key.map(MemberKey))
    }

    fn transform(
        &self,
        id: FieldId,
        _: FieldPath<'_>,
        value: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        if id == DENIED {
            return Ok(Replacement::Drop);
        }
        if let Some(json) = self.constant(id) {
            out.extend_from_slice(json.as_bytes());
            return Ok(Replacement::Json);
        }
        let field = &self.plan.fields[id.0 as usize];
        let ctx = self.context(&field.selector);
        let Some(open) = field.stored.open() else {
            return field
                .action
                .apply_to(value, &ctx, out)
                .map_err(TransformError::new);
        };
        // Stored protected: open it, then the caller's action applies to
        // the clear value.
        let clear = match open.apply(value, &ctx).map_err(TransformError::new)? {
            Outcome::Replace(json) => json,
            Outcome::Keep => return Ok(Replacement::Keep),
            Outcome::Drop => return Ok(Replacement::Drop),
        };
        let clear: serde_json::Value = serde_json::from_str(&clear)
            .map_err(|_| TransformError::new("stored value is not JSON"))?;
        let number;
        let scalar = match &clear {
            serde_json::Value::String(s) => Scalar::Str(s.as_str().into()),
            serde_json::Value::Number(n) => {
                number = n.to_string();
                Scalar::Number(&number)
            }
            serde_json::Value::Bool(b) => Scalar::Bool(*b),
            serde_json::Value::Null => Scalar::Null,
            _ => return Err(TransformError::new("stored value is not a scalar")),
        };
        match field
            .action
            .apply_to(scalar, &ctx, out)
            .map_err(TransformError::new)?
        {
            Replacement::Keep => {
                out.extend_from_slice(clear.to_string().as_bytes());
                Ok(Replacement::Json)
            }
            other => Ok(other),
        }
    }

    fn constant(&self, id: FieldId) -> Option<&str> {
        self.plan.constants.get(id.0 as usize)?.as_deref()
    }

    fn container(&self, id: FieldId) -> ContainerAction {
        if id == DENIED {
            return ContainerAction::Drop;
        }
        match &self.plan.fields[id.0 as usize].action {
            Action::Drop => ContainerAction::Drop,
            Action::Redact { replacement } => ContainerAction::Replace(
                replacement
                    .as_deref()
                    .map_or_else(|| "null".to_owned(), crate::action::json_string),
            ),
            _ => ContainerAction::Descend,
        }
    }

    fn scans_unclassified(&self) -> bool {
        self.plan.unclassified != Unclassified::Pass
    }

    fn unclassified(
        &self,
        path: FieldPath<'_>,
        value: &str,
        out: &mut Vec<u8>,
        found: &mut Found,
    ) -> Result<Replacement, TransformError> {
        match self.plan.unclassified {
            Unclassified::Pass => Ok(Replacement::Keep),
            Unclassified::Deny => Ok(Replacement::Drop),
            Unclassified::Detect => {
                // Most strings have no finding: the path is only written
                // out for one that does.
                let mut normalized: Option<String> = None;
                let mut failure = None;
                let rewritten = self.plan.detectors.redact_with(value, |finding, matched| {
                    let outcome = self.plan.detected.get(&*finding.class).map(|action| {
                        let path =
                            normalized.get_or_insert_with(|| normalized_path(&path.to_vec()));
                        action.apply(Scalar::Str(matched.into()), &self.context(path))
                    });
                    let replacement = match outcome {
                        Some(Ok(Outcome::Keep)) => {
                            found.push(finding.class.clone(), Treatment::Kept);
                            return matched.to_owned();
                        }
                        Some(Ok(Outcome::Replace(json))) => {
                            serde_json::from_str::<String>(&json).ok()
                        }
                        Some(Err(error)) => {
                            failure.get_or_insert(error);
                            None
                        }
                        // No action for the class, or one that drops the value.
                        None | Some(Ok(Outcome::Drop)) => None,
                    };
                    found.push(finding.class.clone(), Treatment::Replaced);
                    // What the action cannot give as a string becomes a mark
                    // naming the class.
                    replacement.unwrap_or_else(|| redaction_mark(&finding.class))
                });
                if let Some(error) = failure {
                    return Err(TransformError::new(error));
                }
                Ok(match rewritten {
                    std::borrow::Cow::Borrowed(_) => Replacement::Keep,
                    std::borrow::Cow::Owned(text) => {
                        crate::action::write_json_string(out, &text);
                        Replacement::Json
                    }
                })
            }
        }
    }
}

/// The fields a product stores protected, as the policy for request
/// bodies: each selected value is encrypted (an AES-256-GCM envelope) or
/// tokenized (FF1), bound to the product and the field's selector, before
/// the body reaches the product, which then stores only ciphertext or
/// tokens. [`Plan`]s open them again on the way back.
pub struct WritePlan {
    product: Arc<str>,
    selectors: SelectorSet<FieldId>,
    /// Per field id: its selector (what the protection binds to) and the
    /// action that protects it.
    fields: Vec<(String, Action)>,
    keys: Arc<dyn KeyProvider>,
}

impl std::fmt::Debug for WritePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePlan")
            .field("product", &self.product)
            .field(
                "fields",
                &self.fields.iter().map(|(path, _)| path).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl WritePlan {
    /// The write plan of `classification`, if it stores any field
    /// protected.
    pub fn new(classification: &Classification, keys: Arc<dyn KeyProvider>) -> Option<Self> {
        let stored: Vec<(&ClassifiedField, Action)> = classification
            .fields
            .iter()
            .filter_map(|f| Some((f, f.stored.protect()?)))
            .collect();
        if stored.is_empty() {
            return None;
        }
        Some(Self {
            product: Arc::from(classification.product.as_str()),
            selectors: SelectorSet::new(
                stored
                    .iter()
                    .enumerate()
                    .map(|(i, (f, _))| {
                        (
                            f.selector.clone(),
                            FieldId(u32::try_from(i).expect("fewer than 2^32 fields")),
                        )
                    })
                    .collect(),
            ),
            fields: stored
                .into_iter()
                .map(|(f, protect)| (f.selector.to_string(), protect))
                .collect(),
            keys,
        })
    }
}

impl FieldPolicy for WritePlan {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        selected(self.selectors.lookup(path))
    }

    fn lookup_root(&self) -> Option<(Decision, LookupState)> {
        root_state(&self.selectors, selected)
    }

    fn lookup_child(&self, parent: LookupState, child: PathSegment<'_>) -> (Decision, LookupState) {
        child_state(&self.selectors, parent, child, selected)
    }

    fn transform(
        &self,
        id: FieldId,
        _: FieldPath<'_>,
        value: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        let (path, protect) = &self.fields[id.0 as usize];
        let ctx = ApplyContext {
            product: &self.product,
            path,
            consumer: "",
            keys: &*self.keys,
        };
        protect
            .apply_to(value, &ctx, out)
            .map_err(TransformError::new)
    }

    fn container(&self, _: FieldId) -> ContainerAction {
        ContainerAction::Descend
    }
}

/// What stands in free text for a finding whose action leaves no text.
fn redaction_mark(class: &str) -> String {
    format!("[{class}]")
}

#[cfg(test)]
mod tests;
