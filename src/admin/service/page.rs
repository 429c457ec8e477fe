//! Pagination: `?limit=&after=` checked into a storage page request, keyset pagination of a
//! list the storage returns whole, and reading every page of a paginated storage listing.
//!
//! Owns: the limit bounds (1-500, default 50). Must not touch: what is listed.

use super::SResult;
use super::ServiceError;
use crate::domain::*;
use crate::storage::{Page, PageRequest, Storage, UserFilter};

/// `?limit=&after=` → a storage page request (limit 1-500, default 50).
pub fn page_request(limit: Option<u32>, after: Option<String>) -> SResult<PageRequest> {
    match limit {
        Some(0) | Some(501..) => {
            Err(ServiceError::bad_request("limit must be between 1 and 500.").with_field("limit"))
        }
        _ => Ok(PageRequest {
            after: after.filter(|a| !a.is_empty()),
            limit: limit.unwrap_or(0),
        }),
    }
}

/// Keyset pagination over a list the storage returns whole.
pub fn page_vec<T>(mut items: Vec<T>, key: impl Fn(&T) -> String, req: &PageRequest) -> Page<T> {
    items.sort_by_key(|a| key(a));
    let limit = req.effective_limit() as usize;
    let mut rest: Vec<T> = match &req.after {
        Some(a) => items.into_iter().filter(|x| key(x) > *a).collect(),
        None => items,
    };
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(&key)
    } else {
        None
    };
    Page { items: rest, next }
}

/// Every page of a paginated storage listing.
pub async fn all_orgs_with_parent(s: &dyn Storage, parent: Option<&OrgId>) -> SResult<Vec<Org>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_orgs(parent, &req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn all_members(s: &dyn Storage, org: &OrgId) -> SResult<Vec<Membership>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_members(org, &req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn all_apps(s: &dyn Storage) -> SResult<Vec<App>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_apps(&req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn all_users(s: &dyn Storage) -> SResult<Vec<User>> {
    let mut out = Vec::new();
    let mut req = PageRequest::first(500);
    loop {
        let page = s.list_users(&UserFilter::default(), &req).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => req.after = Some(n),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_vec_is_keyset_paginated() {
        let items: Vec<u32> = (0..7).rev().collect();
        let req = PageRequest::first(3);
        let p = page_vec(items.clone(), |x| format!("{x:03}"), &req);
        assert_eq!(p.items, vec![0, 1, 2]);
        assert_eq!(p.next.as_deref(), Some("002"));
        let p2 = page_vec(
            items.clone(),
            |x| format!("{x:03}"),
            &PageRequest {
                after: p.next,
                limit: 3,
            },
        );
        assert_eq!(p2.items, vec![3, 4, 5]);
        let p3 = page_vec(
            items,
            |x| format!("{x:03}"),
            &PageRequest {
                after: p2.next,
                limit: 3,
            },
        );
        assert_eq!(p3.items, vec![6]);
        assert!(p3.next.is_none());
    }

    #[test]
    fn limits_are_checked() {
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(501), None).is_err());
        assert_eq!(page_request(None, None).unwrap().effective_limit(), 50);
    }
}
