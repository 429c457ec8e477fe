//! Shapes of users and their external identities: create, patch (password may be cleared),
//! response, and the user list query.
//!
//! Owns: these wire shapes. Must not touch: validation (`service`), password hashing.

use super::{double_option, ts};
use crate::domain as d;
use crate::domain::{Email, Secret, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

list_type!(UserList, UserResponse);
list_type!(IdentityList, IdentityResponse);

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<UserId>,
    #[schema(value_type = String)]
    pub email: Email,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Plaintext password for password connections (8-1024 characters); stored with
    /// argon2id and never returned or exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub version: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    pub email_verified: Option<bool>,
    /// `null` clears the name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub name: Option<Option<String>>,
    /// A new password; `null` removes the password.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub password: Option<Option<Secret>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Whether a password is stored (it is never returned).
    pub password_set: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&d::User> for UserResponse {
    fn from(u: &d::User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            password_set: u.password_hash.is_some(),
            version: u.version,
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
        }
    }
}

/// `GET /users?email=&limit=&after=`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Exact (normalized) email address.
    pub email: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityResponse {
    pub connection_id: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub created_at: String,
}

impl From<&d::ExternalIdentity> for IdentityResponse {
    fn from(i: &d::ExternalIdentity) -> Self {
        Self {
            connection_id: i.connection_id.to_string(),
            issuer: i.issuer.clone(),
            subject: i.subject.clone(),
            user_id: i.user_id.to_string(),
            created_at: ts(i.created_at),
        }
    }
}
