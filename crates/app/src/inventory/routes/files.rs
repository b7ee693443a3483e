//! CSV files in and out of a venue's inventory: the stock list and the ingredient catalogue, recipes
//! (dishes' and made ingredients', in `recipe_files`), and the stocktake sheet with its counts. Every import accounts for
//! every line, as every Brigade import does: `lines = stored + unchanged + rejected`, each rejected
//! line with its number and what is wrong in words, and a good line is stored even when others are not.
//! Every export imports back as it is (an export of a venue imports into it as all unchanged).
//!
//! - Ingredients: `name,unit` and any of `category,unit_cost,par_level,shelf_life_days,supplier,
//!   purchase_unit,purchase_factor` (the stock list's export; its `on_hand` and `value` are read-only and
//!   ignored). A name the venue has updates that ingredient, a blank cell leaves its field as it was.
//! - Recipes: `recipe,ingredient,quantity` and `yield`. `recipe` is a menu item (its id, PLU or name) or,
//!   for a made ingredient (a sauce), that ingredient's name with the `yield` one batch makes. A recipe's
//!   lines replace its old ones together: one bad line rejects the whole recipe.
//! - Counts: `ingredient,counted` (the stocktake sheet's export fills in `counted`); every counted line is
//!   one stocktake, a blank `counted` is an ingredient not counted.

use axum::response::IntoResponse;

use super::*;
use crate::csv_lines::upload::{LineError, cell, problems, rows, safe};

/// What an import did with each line of its file.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockImportReport {
    /// Data lines in the file (the header not counted): `stored` + `unchanged` + rejected lines.
    pub lines: usize,
    /// Lines whose content was stored.
    pub stored: usize,
    /// Lines that changed nothing: already so, or (a count) left blank.
    pub unchanged: usize,
    pub rejected: Vec<LineError>,
    /// The stocktake's reference, for counts.
    pub count_id: Option<Uuid>,
}

impl StockImportReport {
    pub(super) fn new(lines: usize) -> Self {
        StockImportReport {
            lines,
            stored: 0,
            unchanged: 0,
            rejected: Vec::new(),
            count_id: None,
        }
    }

    pub(super) fn reject(&mut self, line: u64, errors: Vec<String>) {
        self.rejected.push(LineError { line, errors });
    }

    pub(super) fn message(&self) -> String {
        format!(
            "{} line(s): {} stored, {} unchanged, {} rejected",
            self.lines,
            self.stored,
            self.unchanged,
            self.rejected.len()
        )
    }
}

pub(super) fn csv_reply(
    venue: &restaurants::Model,
    what: &str,
    body: Vec<u8>,
) -> axum::response::Response {
    let slug: String = venue
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{what}-{slug}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub(super) fn csv_body<I, R>(header: &[&str], records: I) -> ApiResult<Vec<u8>>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header).map_err(ApiError::internal)?;
    for record in records {
        out.write_record(record.into_iter().collect::<Vec<_>>())
            .map_err(ApiError::internal)?;
    }
    out.into_inner()
        .map_err(|e| ApiError::internal(e.into_error()))
}

/// The venue's ingredients by lower-cased name.
pub(super) async fn by_name(
    state: &AppState,
    venue_id: Uuid,
) -> ApiResult<HashMap<String, ingredients::Model>> {
    Ok(ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.name.to_lowercase(), i))
        .collect())
}

/// An ingredient named in a file: by its id or its name.
pub(super) fn named<'a>(
    all: &'a HashMap<String, ingredients::Model>,
    reference: &str,
) -> Option<&'a ingredients::Model> {
    match Uuid::parse_str(reference) {
        Ok(id) => all.values().find(|i| i.id == id),
        Err(_) => all.get(&reference.trim().to_lowercase()),
    }
}

fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// The stock list as CSV (venue staff): one line per ingredient with its stock, value, cost, par
/// level, shelf life, supplier and purchase unit, by name; spreadsheet-safe (a cell that starts like a
/// formula is quoted with a leading apostrophe). It imports back through the ingredient import.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients/export", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "name,unit,category,on_hand,value,unit_cost,par_level,shelf_life_days,supplier,purchase_unit,purchase_factor", content_type = "text/csv", body = String),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn export_ingredients(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<axum::response::Response> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let rows = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .order_by_asc(ingredients::Column::Name)
        .all(&state.db)
        .await?;
    let suppliers: HashMap<Uuid, String> = crate::entities::suppliers::Entity::find()
        .filter(crate::entities::suppliers::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let views = views_of(&state, rows).await?;
    let body = csv_body(
        &[
            "name",
            "unit",
            "category",
            "on_hand",
            "value",
            "unit_cost",
            "par_level",
            "shelf_life_days",
            "supplier",
            "purchase_unit",
            "purchase_factor",
        ],
        views.into_iter().map(|v| {
            [
                safe(&v.name),
                v.unit.clone(),
                safe(v.category.as_deref().unwrap_or("")),
                v.on_hand.to_string(),
                v.value.to_string(),
                v.unit_cost.to_string(),
                text(v.par_level),
                v.shelf_life_days.map(|d| d.to_string()).unwrap_or_default(),
                safe(
                    v.supplier_id
                        .and_then(|s| suppliers.get(&s))
                        .map(String::as_str)
                        .unwrap_or(""),
                ),
                safe(v.purchase_unit.as_deref().unwrap_or("")),
                v.purchase_factor.to_string(),
            ]
        }),
    )?;
    Ok(csv_reply(&venue, "stock", body))
}

/// One line of an ingredient file as the API's input, or what is wrong with it.
fn ingredient_line(
    map: &HashMap<String, String>,
    suppliers: &HashMap<String, Uuid>,
) -> Result<IngredientInput, Vec<String>> {
    let mut errors = Vec::new();
    let parsed = |field: &str| cell(map, field);
    let name = parsed("name");
    let unit = parsed("unit");
    let category = parsed("category");
    let cost = parsed("unit_cost");
    let par = parsed("par_level");
    let shelf = parsed("shelf_life_days");
    let supplier = parsed("supplier");
    let purchase_unit = parsed("purchase_unit");
    let factor = parsed("purchase_factor");
    let mut check = |field: &str, outcome: Result<(), String>| {
        if let Err(e) = outcome {
            errors.push(format!("{field}: {e}"));
        }
    };
    if name.is_none() {
        check("name", Err("is empty".into()));
    }
    let mut input = IngredientInput {
        name,
        unit: None,
        category,
        unit_cost: None,
        par_level: None,
        shelf_life_days: None,
        supplier_id: None,
        purchase_unit,
        purchase_factor: None,
    };
    if let Some(u) = unit {
        check("unit", Unit::parse(&u).map(|u| input.unit = Some(u)));
    }
    if let Some(c) = cost {
        check(
            "unit_cost",
            UnitCost::parse(&c).map(|c| input.unit_cost = Some(c)),
        );
    }
    if let Some(p) = par {
        check(
            "par_level",
            Amount::parse(&p).map(|p| input.par_level = Some(p)),
        );
    }
    if let Some(d) = shelf {
        check(
            "shelf_life_days",
            d.parse::<i32>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .map(|d| input.shelf_life_days = Some(d))
                .ok_or_else(|| format!("{d:?} is not a number of days from 1 to 3650")),
        );
    }
    if let Some(s) = supplier {
        check(
            "supplier",
            suppliers
                .get(&s.to_lowercase())
                .map(|id| input.supplier_id = Some(*id))
                .ok_or_else(|| format!("{s:?} is not a supplier of this venue (add it first)")),
        );
    }
    if let Some(f) = factor {
        check(
            "purchase_factor",
            Positive::parse(&f).map(|f| input.purchase_factor = Some(f)),
        );
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

/// Import ingredients from CSV (venue manager; `text/csv` body): `name,unit` and any of
/// `category,unit_cost,par_level,shelf_life_days,supplier,purchase_unit,purchase_factor`. A new name adds
/// an ingredient, a known one (any case) updates it, blank cells leave fields as they were; the stock
/// list's export imports as it is. Good lines are stored, bad ones come back with their line number.
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients/import", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = String, content_type = "text/csv",
        example = "name,unit,category,unit_cost,par_level,shelf_life_days,supplier,purchase_unit,purchase_factor\nMozzarella,g,Dairy,0.0098,5000,10,,case,2500\n"),
    responses(
        (status = 200, description = "What each line did", body = Envelope<StockImportReport>),
        (status = 400, description = "Not CSV, or a required column missing", body = ErrorBody),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn import_ingredients(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<Reply<StockImportReport>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let lines = rows(&body, &["name", "unit"])?;
    let mut report = StockImportReport::new(lines.len());
    let suppliers: HashMap<String, Uuid> = crate::entities::suppliers::Entity::find()
        .filter(crate::entities::suppliers::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.name.to_lowercase(), s.id))
        .collect();
    let mut known = by_name(&state, venue_id).await?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, map) in lines {
        if let Some(e) = map.get("__error") {
            report.reject(line, vec![e.clone()]);
            continue;
        }
        let input = match ingredient_line(&map, &suppliers) {
            Ok(input) => input,
            Err(errors) => {
                report.reject(line, errors);
                continue;
            }
        };
        let key = input
            .name
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        if let Some(first) = seen.insert(key.clone(), line) {
            report.reject(line, vec![format!("name: line {first} has it already")]);
            continue;
        }
        let now = state.now();
        let outcome = match known.get(&key) {
            Some(existing) => {
                if input.unit.is_some_and(|u| u.as_str() != existing.unit) {
                    report.reject(
                        line,
                        vec![format!(
                            "unit: {} is kept in {}; change the unit on its page, not by import",
                            existing.name, existing.unit
                        )],
                    );
                    continue;
                }
                let mut active: ingredients::ActiveModel = existing.clone().into();
                match catalogue::apply_ingredient(&state, venue_id, &input, &mut active, false)
                    .await
                {
                    Ok(()) => {
                        active.updated_at = Set(existing.updated_at);
                        let after = ingredients::Model {
                            name: existing.name.clone(),
                            ..sea_orm::TryIntoModel::try_into_model(active.clone())?
                        };
                        if after == *existing {
                            report.unchanged += 1;
                            continue;
                        }
                        active.name = Set(existing.name.clone());
                        active.updated_at = Set(now);
                        active.update(&state.db).await.map_err(ApiError::from)
                    }
                    Err(e) => Err(e),
                }
            }
            None => {
                if input.unit.is_none() {
                    report.reject(line, vec!["unit: is empty (g, ml or each)".into()]);
                    continue;
                }
                let mut active = catalogue::new_ingredient(venue_id, now);
                match catalogue::apply_ingredient(&state, venue_id, &input, &mut active, true).await
                {
                    Ok(()) => active.insert(&state.db).await.map_err(ApiError::from),
                    Err(e) => Err(e),
                }
            }
        };
        match outcome {
            Ok(row) => {
                known.insert(key, row);
                report.stored += 1;
            }
            Err(err) if err.status.is_client_error() => report.reject(line, problems(&err)),
            Err(err) => return Err(err),
        }
    }
    let message = report.message();
    Ok(ok(report).message(message))
}

/// The stocktake sheet as CSV (venue staff): `ingredient,unit,category,expected,counted`, by category
/// and name, with `counted` left blank to fill in; the count import takes it back.
#[utoipa::path(get, path = "/api/venues/{venue_id}/counts/sheet", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "ingredient,unit,category,expected,counted", content_type = "text/csv", body = String),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn count_sheet(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<axum::response::Response> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let rows = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?;
    let mut views = views_of(&state, rows).await?;
    views.sort_by(|a, b| {
        (a.category.is_none(), &a.category, a.name.to_lowercase()).cmp(&(
            b.category.is_none(),
            &b.category,
            b.name.to_lowercase(),
        ))
    });
    let body = csv_body(
        &["ingredient", "unit", "category", "expected", "counted"],
        views.into_iter().map(|v| {
            [
                safe(&v.name),
                v.unit,
                safe(v.category.as_deref().unwrap_or("")),
                v.on_hand.to_string(),
                String::new(),
            ]
        }),
    )?;
    Ok(csv_reply(&venue, "stocktake", body))
}

/// Import a stocktake from CSV (venue staff; `text/csv` body): `ingredient,counted`, the ingredient by
/// name or id. Every counted line is one stocktake (one transaction, one reference, as the stocktake
/// sheet saves); a blank `counted` is an ingredient not counted (unchanged); an ingredient counted twice
/// rejects its second line.
#[utoipa::path(post, path = "/api/venues/{venue_id}/counts/import", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = String, content_type = "text/csv",
        example = "ingredient,unit,category,expected,counted\nMozzarella,g,Dairy,4350,4200\n"),
    responses(
        (status = 200, description = "What each line did", body = Envelope<StockImportReport>),
        (status = 400, description = "Not CSV, or a required column missing", body = ErrorBody),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn import_counts(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<Reply<StockImportReport>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let lines = rows(&body, &["ingredient", "counted"])?;
    let mut report = StockImportReport::new(lines.len());
    let known = by_name(&state, venue_id).await?;
    let mut seen: HashMap<Uuid, u64> = HashMap::new();
    let mut counted = Vec::new();
    for (line, map) in lines {
        if let Some(e) = map.get("__error") {
            report.reject(line, vec![e.clone()]);
            continue;
        }
        let reference = cell(&map, "ingredient").unwrap_or_default();
        let Some(ingredient) = named(&known, &reference) else {
            report.reject(
                line,
                vec![format!(
                    "ingredient: {reference:?} is not an ingredient of this venue"
                )],
            );
            continue;
        };
        let Some(raw) = cell(&map, "counted") else {
            report.unchanged += 1;
            continue;
        };
        let amount = match Amount::parse(raw.trim()) {
            Ok(a) => milli(a),
            Err(e) => {
                report.reject(line, vec![format!("counted: {e}")]);
                continue;
            }
        };
        if let Some(first) = seen.insert(ingredient.id, line) {
            report.reject(
                line,
                vec![format!(
                    "ingredient: {} is counted on line {first} already",
                    ingredient.name
                )],
            );
            continue;
        }
        counted.push((ingredient.clone(), amount));
    }
    if !counted.is_empty() {
        let result = stock::apply_stocktake(&state, &venue, me.user_id, &counted).await?;
        report.stored = counted.len();
        report.count_id = Some(result.count_id);
    }
    let message = report.message();
    Ok(ok(report).message(message))
}
