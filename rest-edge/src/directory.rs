//! Placeholder for the directory endpoints; see ModuleRoutes.

use crate::ModuleRoutes;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub(crate) struct Doc;

/// This module's routes.
pub(crate) fn routes() -> ModuleRoutes {
    ModuleRoutes::default()
}
