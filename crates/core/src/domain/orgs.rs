//! Organisations: the unit users, policies and admins belong to.

use crate::store::{OrgRow, StoreError};

use super::input::Slug;
use super::{DomainError, Result, Twofold};

impl Twofold {
    /// Creates an organisation; answers its id.
    pub async fn create_org(&self, slug: &str, name: Option<&str>) -> Result<String> {
        let slug = Slug::parse(slug)?;
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(slug.as_str());
        if name.chars().count() > 200 {
            return Err(DomainError::InvalidInput(
                "the organisation name must be at most 200 characters".into(),
            ));
        }
        let row = OrgRow {
            id: Self::new_id(),
            slug: slug.as_str().to_owned(),
            name: name.to_owned(),
            created_at: self.now().as_millis(),
            miss_hash: None,
        };
        match self.store.insert_org(&row).await {
            Ok(()) => Ok(row.id),
            Err(StoreError::Duplicate(_)) => Err(DomainError::AlreadyExists(format!(
                "an organisation with slug {:?} already exists",
                row.slug
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
