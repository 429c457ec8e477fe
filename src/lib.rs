//! Lobby: a B2B login broker. See DESIGN.md for the product shape; `app` is the composition
//! root; dependencies point inward: edges (provider, login, admin, portal) → domain →
//! storage/state traits.

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
/// The fuzz targets' bodies (`fuzz/`), for libFuzzer and the stable replay test alike.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod login;
pub mod mail;
pub mod ops;
pub mod pages;
pub mod portal;
pub mod provider;
pub mod state;
pub mod storage;
pub mod upstream;
pub mod webhooks;
