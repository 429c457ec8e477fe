//! Lobby: a B2B login broker. See DESIGN.md for the product shape; `app` is the composition
//! root; dependencies point inward: edges (provider, login, admin, portal) → domain →
//! storage/state traits.

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod keys;
pub mod login;
pub mod mail;
pub mod pages;
pub mod portal;
pub mod provider;
pub mod state;
pub mod storage;
pub mod upstream;
