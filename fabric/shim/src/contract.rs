//! The contract layer: named contracts of named functions with declared,
//! typed parameters, routed by the first argument `contract:function` (a bare
//! `function` goes to the default contract).
//!
//! Functions are plain async functions of a [`Stub`] and their [`Args`];
//! they fail with a [`ContractError`], which becomes a status 500 response
//! carrying its message, so a client always learns what was wrong. The
//! declared parameters drive argument-count checks, typed access by name,
//! and the `org.hyperledger.fabric:GetMetadata` description that Fabric's
//! tooling reads.

use std::{collections::BTreeMap, future::Future, pin::Pin, sync::Arc};

use hlf_protos::peer::Response;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    chaincode::{self, Chaincode},
    client_identity::IdentityError,
    error::StubError,
    stub::Stub,
};

/// The system contract every Fabric contract chaincode answers.
pub const SYSTEM_CONTRACT: &str = "org.hyperledger.fabric";

/// Why a contract call failed; its message is what the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The call had no arguments, so no function name.
    #[error("no function name given")]
    NoFunction,
    /// No contract of this name.
    #[error("contract {0:?} does not exist")]
    UnknownContract(String),
    /// The contract has no function of this name.
    #[error("function {function:?} does not exist in contract {contract:?}")]
    UnknownFunction {
        /// The contract.
        contract: String,
        /// The function asked for.
        function: String,
    },
    /// The number of arguments does not match the declared parameters.
    #[error("{function} takes {expected} argument(s) ({parameters}), got {got}")]
    ArgumentCount {
        /// The function.
        function: String,
        /// How many it declares.
        expected: usize,
        /// Their names, comma-separated.
        parameters: String,
        /// How many were given.
        got: usize,
    },
    /// The transient map does not hold exactly the declared transient
    /// parameters.
    #[error("{function}: {reason}")]
    Transient {
        /// The function.
        function: String,
        /// What is missing or not taken.
        reason: String,
    },
    /// A function asked for a parameter it did not declare (a contract bug).
    #[error("parameter {0:?} is not declared")]
    UndeclaredParameter(String),
    /// A string parameter is not valid UTF-8.
    #[error("argument {parameter} is not valid UTF-8 (invalid byte at {position})")]
    NotUtf8 {
        /// The parameter.
        parameter: String,
        /// The offset of the first invalid byte.
        position: usize,
    },
    /// A JSON parameter does not parse into the expected type.
    #[error("argument {parameter} is not the expected JSON: {source}")]
    Json {
        /// The parameter.
        parameter: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The result could not be serialised.
    #[error("cannot serialise the result: {0}")]
    Serialize(serde_json::Error),
    /// A ledger call failed.
    #[error(transparent)]
    Ledger(#[from] StubError),
    /// The submitter's identity could not be read.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The contract refused the call for a reason of its own.
    #[error("{0}")]
    Rejected(String),
}

impl ContractError {
    /// A refusal with `message` (bad input, not allowed, not found...).
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::Rejected(message.into())
    }
}

/// What a function returns, turned into the response payload.
pub trait IntoPayload {
    /// The payload bytes.
    fn into_payload(self) -> Result<Vec<u8>, ContractError>;
}

impl IntoPayload for Vec<u8> {
    fn into_payload(self) -> Result<Vec<u8>, ContractError> {
        Ok(self)
    }
}

impl IntoPayload for String {
    fn into_payload(self) -> Result<Vec<u8>, ContractError> {
        Ok(self.into_bytes())
    }
}

impl IntoPayload for () {
    fn into_payload(self) -> Result<Vec<u8>, ContractError> {
        Ok(Vec::new())
    }
}

/// A result returned as JSON.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoPayload for Json<T> {
    fn into_payload(self) -> Result<Vec<u8>, ContractError> {
        serde_json::to_vec(&self.0).map_err(ContractError::Serialize)
    }
}

/// How a parameter's bytes are meant to be read (and described).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Raw bytes.
    Bytes,
    /// A UTF-8 string.
    String,
    /// A JSON document.
    Json,
}

/// A declared parameter: a transaction argument, or an entry of the
/// transient map (which the endorsers read but the transaction, and so
/// the block, never holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    name: &'static str,
    kind: ParamKind,
    transient: bool,
}

impl Param {
    /// A raw-bytes parameter.
    pub const fn bytes(name: &'static str) -> Self {
        Self {
            name,
            kind: ParamKind::Bytes,
            transient: false,
        }
    }

    /// A UTF-8 string parameter.
    pub const fn string(name: &'static str) -> Self {
        Self {
            name,
            kind: ParamKind::String,
            transient: false,
        }
    }

    /// A JSON parameter.
    pub const fn json(name: &'static str) -> Self {
        Self {
            name,
            kind: ParamKind::Json,
            transient: false,
        }
    }

    /// This parameter, passed as the transient map's entry of its name.
    /// A function with transient parameters takes a transient map of
    /// exactly those keys: a missing or an extra key is refused before
    /// the function runs.
    pub const fn in_transient(self) -> Self {
        Self {
            transient: true,
            ..self
        }
    }
}

/// The arguments of a call, accessed by declared parameter name.
#[derive(Debug, Clone)]
pub struct Args {
    params: Arc<[Param]>,
    values: Vec<Vec<u8>>,
}

impl Args {
    fn value(&self, name: &str) -> Result<&[u8], ContractError> {
        self.params
            .iter()
            .position(|param| param.name == name)
            .and_then(|index| self.values.get(index))
            .map(Vec::as_slice)
            .ok_or_else(|| ContractError::UndeclaredParameter(name.to_owned()))
    }

    /// The raw bytes of parameter `name`.
    pub fn bytes(&self, name: &str) -> Result<&[u8], ContractError> {
        self.value(name)
    }

    /// Parameter `name` as UTF-8.
    pub fn string(&self, name: &str) -> Result<&str, ContractError> {
        std::str::from_utf8(self.value(name)?).map_err(|error| ContractError::NotUtf8 {
            parameter: name.to_owned(),
            position: error.valid_up_to(),
        })
    }

    /// Parameter `name` parsed from JSON.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, ContractError> {
        serde_json::from_slice(self.value(name)?).map_err(|source| ContractError::Json {
            parameter: name.to_owned(),
            source,
        })
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type FunctionFn =
    Arc<dyn Fn(Stub, Args) -> BoxFuture<Result<Vec<u8>, ContractError>> + Send + Sync>;
type BeforeFn = Arc<dyn Fn(Stub, String) -> BoxFuture<Result<(), ContractError>> + Send + Sync>;
type AfterFn =
    Arc<dyn Fn(Stub, String, Vec<u8>) -> BoxFuture<Result<(), ContractError>> + Send + Sync>;

struct Function {
    params: Arc<[Param]>,
    evaluate: bool,
    run: FunctionFn,
}

/// A named set of functions with optional hooks around each call.
pub struct Contract {
    name: String,
    version: String,
    functions: BTreeMap<String, Function>,
    before: Option<BeforeFn>,
    after: Option<AfterFn>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("name", &self.name)
            .field("functions", &self.functions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Contract {
    /// An empty contract called `name`, of `version` (for the metadata).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            functions: BTreeMap::new(),
            before: None,
            after: None,
        }
    }

    fn add<F, Fut, R>(mut self, name: &str, params: &[Param], evaluate: bool, function: F) -> Self
    where
        F: Fn(Stub, Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ContractError>> + Send + 'static,
        R: IntoPayload,
    {
        let run: FunctionFn = Arc::new(move |stub, args| {
            let call = function(stub, args);
            Box::pin(async move { call.await?.into_payload() })
        });
        self.functions.insert(
            name.to_owned(),
            Function {
                params: Arc::from(params),
                evaluate,
                run,
            },
        );
        self
    }

    /// Adds a function that changes the ledger (clients submit it).
    pub fn submit<F, Fut, R>(self, name: &str, params: &[Param], function: F) -> Self
    where
        F: Fn(Stub, Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ContractError>> + Send + 'static,
        R: IntoPayload,
    {
        self.add(name, params, false, function)
    }

    /// Adds a function that only reads (clients evaluate it).
    pub fn evaluate<F, Fut, R>(self, name: &str, params: &[Param], function: F) -> Self
    where
        F: Fn(Stub, Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ContractError>> + Send + 'static,
        R: IntoPayload,
    {
        self.add(name, params, true, function)
    }

    /// Runs before every function of this contract, with the function's
    /// name; an error fails the call before the function runs.
    pub fn before<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Stub, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ContractError>> + Send + 'static,
    {
        self.before = Some(Arc::new(move |stub, function| {
            Box::pin(hook(stub, function))
        }));
        self
    }

    /// Runs after every successful function of this contract, with the
    /// function's name and payload; an error fails the call.
    pub fn after<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Stub, String, Vec<u8>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ContractError>> + Send + 'static,
    {
        self.after = Some(Arc::new(move |stub, function, payload| {
            Box::pin(hook(stub, function, payload))
        }));
        self
    }

    /// The values of `params` in order: the arguments for positional
    /// ones, the transient map's entries for transient ones (checking that
    /// the map holds exactly those, when there are any).
    fn with_transient(
        stub: &Stub,
        function: &str,
        params: &[Param],
        values: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, ContractError> {
        if !params.iter().any(|p| p.transient) {
            return Ok(values);
        }
        let transient = stub.transient()?;
        let refuse = |reason: String| ContractError::Transient {
            function: function.to_owned(),
            reason,
        };
        if let Some(extra) = transient
            .keys()
            .find(|key| !params.iter().any(|p| p.transient && p.name == key.as_str()))
        {
            let shown: String = extra.chars().take(64).collect();
            return Err(refuse(format!(
                "the transient map holds {shown:?}, which is not a parameter"
            )));
        }
        let mut values = values.into_iter();
        params
            .iter()
            .map(|param| {
                if param.transient {
                    transient
                        .get(param.name)
                        .cloned()
                        .ok_or_else(|| refuse(format!("the transient map lacks {:?}", param.name)))
                } else {
                    values
                        .next()
                        .ok_or_else(|| ContractError::UndeclaredParameter(param.name.to_owned()))
                }
            })
            .collect()
    }

    async fn call(
        &self,
        stub: Stub,
        name: &str,
        values: Vec<Vec<u8>>,
    ) -> Result<Vec<u8>, ContractError> {
        let function = self
            .functions
            .get(name)
            .ok_or_else(|| ContractError::UnknownFunction {
                contract: self.name.clone(),
                function: name.to_owned(),
            })?;
        let positional: Vec<&Param> = function.params.iter().filter(|p| !p.transient).collect();
        if values.len() != positional.len() {
            return Err(ContractError::ArgumentCount {
                function: name.to_owned(),
                expected: positional.len(),
                parameters: positional
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                got: values.len(),
            });
        }
        let values = Self::with_transient(&stub, name, &function.params, values)?;
        if let Some(before) = &self.before {
            before(stub.clone(), name.to_owned()).await?;
        }
        let payload = (function.run)(
            stub.clone(),
            Args {
                params: Arc::clone(&function.params),
                values,
            },
        )
        .await?;
        if let Some(after) = &self.after {
            after(stub, name.to_owned(), payload.clone()).await?;
        }
        Ok(payload)
    }

    fn metadata(&self, default: bool) -> serde_json::Value {
        let transactions: Vec<serde_json::Value> = self
            .functions
            .iter()
            .map(|(name, function)| {
                let parameters: Vec<serde_json::Value> = function
                    .params
                    .iter()
                    .map(|param| {
                        let schema = match param.kind {
                            ParamKind::String => serde_json::json!({"type": "string"}),
                            ParamKind::Bytes => {
                                serde_json::json!({"type": "string", "format": "byte"})
                            }
                            ParamKind::Json => serde_json::json!({"type": "object"}),
                        };
                        if param.transient {
                            serde_json::json!({"name": param.name, "schema": schema, "transient": true})
                        } else {
                            serde_json::json!({"name": param.name, "schema": schema})
                        }
                    })
                    .collect();
                let tag = if function.evaluate {
                    "evaluate"
                } else {
                    "submit"
                };
                serde_json::json!({"name": name, "tag": [tag], "parameters": parameters})
            })
            .collect();
        serde_json::json!({
            "name": self.name,
            "default": default,
            "info": {"title": self.name, "version": self.version},
            "transactions": transactions,
        })
    }
}

type ErrorMessageFn = Arc<dyn Fn(&ContractError) -> String + Send + Sync>;

/// A chaincode made of contracts; the first one added is the default.
#[derive(Default)]
pub struct ContractChaincode {
    contracts: BTreeMap<String, Contract>,
    default: Option<String>,
    error_message: Option<ErrorMessageFn>,
}

impl std::fmt::Debug for ContractChaincode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractChaincode")
            .field("contracts", &self.contracts)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl ContractChaincode {
    /// A chaincode with no contracts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How a failed call's error becomes the response message (by default
    /// its `Display`). A contract with its own error codes, or one that
    /// must bound what it echoes, formats every error here, including
    /// those of this layer (unknown function, argument count...).
    pub fn error_message(
        mut self,
        format: impl Fn(&ContractError) -> String + Send + Sync + 'static,
    ) -> Self {
        self.error_message = Some(Arc::new(format));
        self
    }

    /// Adds `contract`; the first one added becomes the default.
    pub fn with(mut self, contract: Contract) -> Self {
        self.default.get_or_insert_with(|| contract.name.clone());
        self.contracts.insert(contract.name.clone(), contract);
        self
    }

    /// The JSON that `org.hyperledger.fabric:GetMetadata` returns.
    pub fn metadata(&self) -> serde_json::Value {
        let contracts: serde_json::Map<String, serde_json::Value> = self
            .contracts
            .iter()
            .map(|(name, contract)| {
                (
                    name.clone(),
                    contract.metadata(self.default.as_ref() == Some(name)),
                )
            })
            .collect();
        serde_json::json!({
            "$schema": "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json",
            "info": {"title": "undefined", "version": "latest"},
            "contracts": contracts,
            "components": {"schemas": {}},
        })
    }

    async fn dispatch(&self, stub: Stub) -> Result<Vec<u8>, ContractError> {
        let mut args = stub.args().to_vec();
        if args.is_empty() {
            return Err(ContractError::NoFunction);
        }
        let target = args.remove(0);
        let target = String::from_utf8(target).map_err(|error| ContractError::NotUtf8 {
            parameter: "function name".to_owned(),
            position: error.utf8_error().valid_up_to(),
        })?;
        let (contract, function) = match target.rsplit_once(':') {
            Some((contract, function)) => (contract.to_owned(), function),
            None => (self.default.clone().unwrap_or_default(), target.as_str()),
        };
        if contract == SYSTEM_CONTRACT && function == "GetMetadata" {
            return serde_json::to_vec(&self.metadata()).map_err(ContractError::Serialize);
        }
        let contract = self
            .contracts
            .get(&contract)
            .ok_or(ContractError::UnknownContract(contract))?;
        contract.call(stub, function, args).await
    }
}

impl Chaincode for ContractChaincode {
    async fn init(&self, stub: Stub) -> Response {
        // Contract chaincodes need no Init; one that names a function runs it.
        if stub.args().is_empty() {
            return chaincode::success(Vec::new());
        }
        self.invoke(stub).await
    }

    async fn invoke(&self, stub: Stub) -> Response {
        match self.dispatch(stub).await {
            Ok(payload) => chaincode::success(payload),
            Err(error) => chaincode::error(match &self.error_message {
                Some(format) => format(&error),
                None => error.to_string(),
            }),
        }
    }
}
