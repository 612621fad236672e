//! Several entities' rows in one statement: each entity's columns under a
//! prefix of its own, read back with `FromQueryResult::from_query_result(row,
//! prefix)`, or by position (`ReadAt`) where a page reads many rows.

use entity::{member, organization, transfer_event};
use sea_orm::sea_query::{Alias, Expr, SelectStatement};
use sea_orm::{DbErr, EntityTrait, QueryResult};

/// Selects every column of `E` from the table or alias `table`, each named
/// `{prefix}{column}`.
pub fn columns_as<E: EntityTrait>(query: &mut SelectStatement, table: &str, prefix: &str) {
    use sea_orm::{IdenStatic, Iterable};
    for column in E::Column::iter() {
        query.expr_as(
            Expr::col((Alias::new(table), column)),
            Alias::new(format!("{prefix}{}", column.as_str())),
        );
    }
}

/// A model read from a row by position, its columns starting at `first` in
/// the order of its `Column` enum (the order `columns_as` and
/// `Entity::find()` select them in). By name, each column of a prefixed
/// model builds `{prefix}{column}` and looks it up in the row: on a feed
/// page of 500 events, each with its member and cell, that was about a
/// fifth of the request's CPU.
pub trait ReadAt: Sized {
    fn read_at(row: &QueryResult, first: usize) -> Result<Self, DbErr>;
}

/// Where the columns named `name` onwards start in a statement's rows:
/// found once, in its first row.
pub fn position_of(row: &QueryResult, name: &str) -> Result<usize, DbErr> {
    row.column_names()
        .iter()
        .position(|column| column == name)
        .ok_or_else(|| DbErr::Custom(format!("the statement selects no column {name}")))
}

/// Reads `$model { field: Column, … }` from `$row` at `$first`: each field
/// from the position of its column, so a field read from another column's
/// place cannot be written by mistake, and a field left out does not compile.
macro_rules! read_at {
    ($row:expr, $first:expr, $model:ident { $($field:ident: $column:ident),* $(,)? }) => {{
        use $model::Column;
        $model::Model {
            $($field: $row.try_get_by_index($first + Column::$column as usize)?),*
        }
    }};
}

impl ReadAt for member::Model {
    fn read_at(row: &QueryResult, first: usize) -> Result<Self, DbErr> {
        Ok(read_at!(
            row,
            first,
            member {
                id: Id,
                national_id: NationalId,
                party_card_number: PartyCardNumber,
                full_name: FullName,
                birth_date: BirthDate,
                admitted_on: AdmittedOn,
                official_on: OfficialOn,
                status: Status,
                residence_cell_id: ResidenceCellId,
                created_at: CreatedAt,
                updated_at: UpdatedAt,
            }
        ))
    }
}

impl ReadAt for organization::Model {
    fn read_at(row: &QueryResult, first: usize) -> Result<Self, DbErr> {
        Ok(read_at!(
            row,
            first,
            organization {
                id: Id,
                code: Code,
                name: Name,
                kind: Kind,
                cell_type: CellType,
                status: Status,
                parent_id: ParentId,
                path: Path,
                depth: Depth,
                established_at: EstablishedAt,
                dissolved_at: DissolvedAt,
                dissolution_decision: DissolutionDecision,
                ended_as: EndedAs,
                created_at: CreatedAt,
                updated_at: UpdatedAt,
            }
        ))
    }
}

impl ReadAt for transfer_event::Model {
    fn read_at(row: &QueryResult, first: usize) -> Result<Self, DbErr> {
        Ok(read_at!(
            row,
            first,
            transfer_event {
                id: Id,
                sequence: Sequence,
                submitter: Submitter,
                external_id: ExternalId,
                request_hash: RequestHash,
                member_id: MemberId,
                from_organization_id: FromOrganizationId,
                to_organization_id: ToOrganizationId,
                kind: Kind,
                reason: Reason,
                decision_ref: DecisionRef,
                effective_at: EffectiveAt,
                recorded_at: RecordedAt,
                member_full_name: MemberFullName,
                member_status: MemberStatus,
                phase: Phase,
                letter_id: LetterId,
            }
        ))
    }
}
