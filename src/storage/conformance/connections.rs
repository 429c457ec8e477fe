//! Conformance cases for upstream connections.
//!
//! Owns: what `ConnectionStore` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;

pub async fn connections_crud(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    assert_eq!(
        s.get_connection(&o.id, &c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        s.get_connection_for_callback(&c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_duplicate(s.create_connection(&c).await, "connection id");
    assert_missing(
        s.create_connection(&connection(&OrgId::generate())).await,
        "organization",
    );
    let mut saml = connection(&o.id);
    saml.config = ConnectionConfig::Saml(SamlConfig {
        idp_metadata_url: None,
        idp_metadata_xml: Some("<EntityDescriptor/>".into()),
        idp_entity_id: Some("https://idp.example.com/saml".into()),
        name_id_format: None,
        attributes: ClaimMapping::default(),
        role_mapping: vec![],
        sign_authn_requests: true,
        want_assertions_signed: true,
        allow_idp_initiated: false,
        idp_initiated_app_id: None,
        idp_initiated_redirect_uri: None,
        email_authority: Default::default(),
        accept_expired_certs: false,
    });
    saml.state = ConnectionState::Draft;
    s.create_connection(&saml).await.unwrap();
    let mut want = vec![c.clone(), saml.clone()];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(s.list_connections(&o.id).await.unwrap(), want);

    let mut changed = c.clone();
    changed.name = "Entra".into();
    changed.state = ConnectionState::Disabled;
    changed.config = ConnectionConfig::Password(PasswordConfig { min_length: 14 });
    let stored = s.update_connection(&changed).await.unwrap();
    assert_eq!(
        stored,
        Connection {
            version: 2,
            ..changed.clone()
        }
    );
    assert_eq!(stored.kind(), ConnectionKind::Password);
    assert_conflict(s.update_connection(&changed).await);
    assert_not_found(s.update_connection(&connection(&o.id)).await);

    s.delete_connection(&o.id, &c.id).await.unwrap();
    assert_eq!(s.get_connection(&o.id, &c.id).await.unwrap(), None);
    assert_not_found(s.delete_connection(&o.id, &c.id).await);
}
