// companies.js - the companies list and the company page, built from the same list and
// detail components as contacts; a company's page lists its contacts.

import { asyncName, companiesChanged, mayChange, ownerFilterOptions, userName, userOptions } from '../directory.js';
import { navigate } from '../router.js';
import * as session from '../session.js';
import { recordDetail } from '../ui/detail.js';
import { resourceList } from '../ui/list.js';
import { contactsList } from './contacts.js';

export function companyFields() {
  return [
    { name: 'name', label: 'Name', required: true },
    { name: 'domain', label: 'Domain', placeholder: 'example.com' },
    { name: 'industry', label: 'Industry' },
    {
      name: 'owner_id', label: 'Owner', type: 'select', numeric: true, options: userOptions,
      emptyLabel: 'No owner', unknownLabel: (id) => `user #${id}`,
      display: (record) => (record.owner_id ? asyncName(userName, record.owner_id, `#${record.owner_id}`) : ''),
    },
    { name: 'tags', label: 'Tags', type: 'tags', hint: 'Separated by commas' },
    { name: 'external_id', label: 'External id', create: false, edit: false },
  ];
}

export function companiesPage(params, query) {
  return resourceList({
    resource: 'companies',
    location: { path: '/companies', query },
    title: 'Companies',
    singular: 'company',
    search: { label: 'Search companies', placeholder: 'Name, domain…' },
    columns: [
      { key: 'name', label: 'Name', sort: 'name' },
      { key: 'domain', label: 'Domain', sort: 'domain' },
      { key: 'industry', label: 'Industry', sort: 'industry' },
      { key: 'owner_id', label: 'Owner', cell: (c) => (c.owner_id ? asyncName(userName, c.owner_id, `#${c.owner_id}`) : '') },
      { key: 'updated_at', label: 'Updated', sort: 'updated_at', cell: (c) => (c.updated_at || '').slice(0, 10) },
    ],
    filters: [
      { name: 'owner_id', label: 'Owner', type: 'select', options: ownerFilterOptions },
      { name: 'industry', label: 'Industry', type: 'text', placeholder: 'e.g. retail' },
      { name: 'tag', label: 'Tag', type: 'text', placeholder: 'e.g. partner' },
    ],
    href: (company) => `#/companies/${company.id}`,
    create: session.scope('companies', 'write') === 'none' ? null : {
      label: 'New company',
      fields: companyFields(),
      onCreated: (company) => { companiesChanged(); navigate(`/companies/${company.id}`); },
    },
  });
}

export function companyPage({ id }) {
  return recordDetail({
    resource: 'companies',
    id,
    singular: 'company',
    title: (company) => company.name,
    fields: companyFields(),
    back: { href: '#/companies', label: 'Companies' },
    canEdit: (company) => mayChange('companies', 'write', company.owner_id),
    canDelete: (company) => mayChange('companies', 'delete', company.owner_id),
    onChanged: companiesChanged,
    onDeleted: () => { companiesChanged(); navigate('/companies'); },
    sections: [{
      id: 'contacts',
      title: 'Contacts at this company',
      render: (container, company) => container.append(contactsList({
        title: 'Contacts', headingLevel: 'h3', hideTitle: true, query: { company_id: company.id },
        filters: false, pageSize: 10,
      })),
    }],
  });
}
