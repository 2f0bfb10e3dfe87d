/** A page's props as Next passes them (Next 16 also generates `PageProps<'/route'>`, but only during a build). */
export interface SearchParamsProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>
}
